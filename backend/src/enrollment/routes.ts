import type { Router } from '@koa/router';
import { enrollRequest } from '@postern/shared';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { consume, rateLimited } from '../ratelimit/limits.js';
import { enrollDevice } from './enroll.js';

/**
 * Guessing tokens is the attack, and a whole office behind one NAT is the address it shares, so
 * two counters per address: every attempt, generously (it bounds the work of checking tokens,
 * valid or not), and refused attempts, strictly. An address over the refused limit is still
 * checked, and a token that verifies enrolls; only its refusals turn into 429, so a guesser's
 * pace is the attempt limit while a colleague's valid token is never blocked by it.
 */
export function enrollmentRoutes(router: Router, backend: Backend): void {
  const { enrollAttempts, enrollRefusals } = backend.limits;
  router.post('/v1/enroll', async (ctx) => {
    const address = backend.clientAddress(ctx.req);
    const attemptsWait = await consume(enrollAttempts, address);
    if (attemptsWait !== null) {
      backend.metrics.enrollments.inc({ outcome: 'rate_limited' });
      backend.log.info({ address, code: 'rate_limited' }, 'enrollment refused');
      throw rateLimited(`too many enrollment attempts from this address (${enrollAttempts.points} a minute, POSTERN_ENROLL_ATTEMPTS_PER_MINUTE)`, attemptsWait);
    }
    const body = await readJson(ctx, enrollRequest);
    try {
      ctx.body = await enrollDevice(backend, body.request, { now: backend.now() });
      ctx.status = 201;
      backend.metrics.enrollments.inc({ outcome: 'enrolled' });
    } catch (error) {
      if (!(error instanceof HttpError) || error.status >= 500) {
        backend.metrics.enrollments.inc({ outcome: 'error' });
        throw error;
      }
      // The address and the reason, never the request: it holds the enrollment token.
      backend.log.info({ address, code: error.code }, 'enrollment refused');
      const refusedWait = await consume(enrollRefusals, address);
      backend.metrics.enrollments.inc({ outcome: refusedWait === null ? error.code : 'rate_limited' });
      if (refusedWait === null) throw error;
      throw rateLimited(
        `too many refused enrollment attempts from this address (${enrollRefusals.points} a minute, POSTERN_ENROLL_FAILURES_PER_MINUTE), this one too (${error.code}: ${error.message}); a valid token is still accepted`,
        refusedWait,
      );
    }
  });
}
