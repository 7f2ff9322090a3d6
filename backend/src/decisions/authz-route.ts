import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { isAllowed } from '@postern/shared';
import type { Backend } from '../context.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import { isFailing } from '../policy/evaluate.js';
import { Overloaded } from '../store/micro-batch.js';
import { checkDpopProof, DpopInvalid, replayedProof } from './dpop.js';
import { EarInvalid, verifyEar } from './ear.js';

/**
 * `GET /v1/authz`: forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz.
 * 200 allows, 401 means missing or invalid credentials, 403 not compliant. Nothing else on purpose
 * (nginx treats any other status as an error) but 503 when the server is at capacity: that fails closed.
 */
export function authzRoutes(router: Router, backend: Backend): void {
  const challenge = { 'www-authenticate': 'DPoP algs="ES256"' };
  const deny = (message: string): never => {
    backend.metrics.authz.inc({ outcome: 'unauthenticated' });
    throw new HttpError(401, 'invalid_token', message, challenge);
  };

  router.all('/v1/authz', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const token = credentialOf(ctx, 'DPoP');
    const proof = ctx.get('dpop');
    if (!token || !proof) return deny('present the device posture token as "Authorization: DPoP <token>" with a "DPoP" proof header (`postern-agent token`)');
    const now = backend.now();
    let claims;
    let decision;
    try {
      claims = await verifyEar(backend.keys, backend.issuer, token, now);
      const spend = await checkDpopProof(proof, { method: originalMethod(ctx), url: originalUrl(ctx), accessToken: token, jkt: claims.cnf.jkt, now }, backend.publicKeys);
      // The token proves who the device is; the verdict is today's, so revocation is immediate.
      // It is read while the proof id is spent: two batched round trips at once.
      let fresh;
      [fresh, decision] = await Promise.all([backend.batches.dpopJtis.submit(spend), backend.batches.decisions.submit({ deviceId: claims.sub })]);
      if (!fresh) throw replayedProof();
    } catch (error) {
      if (error instanceof EarInvalid || error instanceof DpopInvalid) return deny(error.message);
      if (error instanceof Overloaded) throw new HttpError(503, 'rate_limited', `the server is at capacity (${error.message}): try again in a second`, { 'retry-after': '1' });
      throw error;
    }
    if (!decision || decision.device.kid !== claims.cnf.jkt) return deny('the device this token names is not enrolled with this key');
    ctx.set('x-postern-device', decision.device.id);
    ctx.set('x-postern-verdict', decision.verdict);
    ctx.set('x-postern-score', String(decision.score));
    if (isAllowed(decision.verdict)) {
      backend.metrics.authz.inc({ outcome: 'allowed' });
      ctx.status = 200;
      ctx.body = { allow: true, device_id: decision.device.id, verdict: decision.verdict, score: decision.score };
      return;
    }
    backend.metrics.authz.inc({ outcome: 'denied' });
    ctx.status = 403;
    ctx.body = {
      error: { code: 'not_compliant', message: `device ${decision.device.hostname} is ${decision.verdict}` },
      device_id: decision.device.id,
      verdict: decision.verdict,
      score: decision.score,
      failing: decision.checks.filter((c) => isFailing(c, now)).map((c) => ({ id: c.id, status: c.status, message: c.message, remediation: c.remediation })),
    };
  });
}

// Gateways pass the original request in forwarding headers; a direct call is its own original.
function originalMethod(ctx: Context): string {
  return (ctx.get('x-forwarded-method') || ctx.get('x-original-method') || ctx.method).toUpperCase();
}

function originalUrl(ctx: Context): string {
  const forwardedUri = ctx.get('x-forwarded-uri') || ctx.get('x-original-uri');
  const originalFull = ctx.get('x-original-url');
  if (originalFull) return originalFull;
  if (!forwardedUri) return `${ctx.protocol}://${ctx.host}${ctx.path}`;
  const proto = ctx.get('x-forwarded-proto') || ctx.protocol;
  const host = ctx.get('x-forwarded-host') || ctx.host;
  return `${proto}://${host}${forwardedUri}`;
}
