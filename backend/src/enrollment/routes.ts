import type { Router } from '@koa/router';
import { enrollRequest } from '@postern/shared';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { KeyedLimiter } from '../ratelimit/token-bucket.js';
import { enrollDevice } from './enroll.js';

export function enrollmentRoutes(router: Router, backend: Backend): void {
  // Guessing tokens is the attack, so refused attempts are what is limited: a fleet enrolling
  // from behind one address is not slowed, a guesser gets 10 tries a minute.
  const perMinute = backend.settings.enrollFailuresPerMinute;
  const failures = new KeyedLimiter(perMinute, perMinute / 60);
  router.post('/v1/enroll', async (ctx) => {
    if (!failures.available(ctx.ip)) {
      backend.metrics.enrollments.inc({ outcome: 'rate_limited' });
      backend.log.info({ address: ctx.ip, code: 'rate_limited' }, 'enrollment refused');
      throw new HttpError('rate_limited', 'too many refused enrollment attempts from this address: wait a minute and check the token', { headers: { 'retry-after': '60' } });
    }
    const body = await readJson(ctx, enrollRequest);
    try {
      ctx.body = await enrollDevice(backend, body.request, { now: backend.now() });
      ctx.status = 201;
      backend.metrics.enrollments.inc({ outcome: 'enrolled' });
    } catch (error) {
      if (error instanceof HttpError && error.status < 500) failures.take(ctx.ip);
      backend.metrics.enrollments.inc({ outcome: error instanceof HttpError ? error.code : 'error' });
      // The address and the reason, never the request: it holds the enrollment token.
      if (error instanceof HttpError && error.status < 500) backend.log.info({ address: ctx.ip, code: error.code }, 'enrollment refused');
      throw error;
    }
  });
}
