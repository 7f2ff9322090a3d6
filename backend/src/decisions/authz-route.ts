import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { checkResult, isAllowed, problemDetails, uuid, verdict } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import { isFailing } from '../policy/evaluate.js';
import { Overloaded } from '../store/micro-batch.js';
import { checkDpopProof, DpopInvalid, replayedProof } from './dpop.js';
import { EarInvalid, verifyEar } from './ear.js';

const score = z.number().int().min(0).max(100);
/** 200: the device may pass. */
export const authzAllowed = z.object({ allow: z.literal(true), device_id: uuid, verdict, score });
/** 403: problem details naming the failing checks, for a gateway that shows the body to the user. */
export const authzDenied = problemDetails.extend({
  code: z.literal('not_compliant'),
  device_id: uuid,
  verdict,
  score,
  failing: z.array(checkResult.pick({ id: true, status: true, message: true, remediation: true })),
  /** The "your device" page: it says to run `postern-agent status`, which prints the device's own link. */
  help_url: z.string(),
});

/**
 * `GET /v1/authz`: forward-auth for nginx auth_request, Traefik ForwardAuth and Envoy ext_authz.
 * 200 allows, 401 means missing or invalid credentials, 403 not compliant: the statuses every
 * gateway understands. The one other status answered on purpose is 429 `rate_limited` (with
 * Retry-After) when the server is at capacity: `rate_limited` means 429 on every endpoint, and no
 * allowed status fits, since 401 would tell the device to fetch a new token and 403 would call it
 * noncompliant. nginx turns any status but 2xx/401/403 into a 500 for the user, so at nginx it fails
 * closed, as a 503 did before; Traefik and Envoy pass the 429 and its Retry-After to the client.
 */
export function authzRoutes(router: Router, backend: Backend): void {
  // RFC 9449 §7.1: a challenge names the algorithms, and an error when credentials were presented.
  const refuse = (code: 'unauthorized' | 'invalid_token' | 'invalid_dpop_proof', message: string): never => {
    backend.metrics.authz.inc({ outcome: 'unauthenticated' });
    throw new HttpError(code, message, { headers: { 'www-authenticate': dpopChallenge(code === 'unauthorized' ? null : code, message) } });
  };

  router.all('/v1/authz', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const token = credentialOf(ctx, 'DPoP');
    const proof = ctx.get('dpop');
    if (!token) return refuse('unauthorized', 'present the device posture token as "Authorization: DPoP <token>" with a "DPoP" proof header (`postern-agent token`)');
    if (!proof) return refuse('invalid_dpop_proof', 'the "DPoP" proof header is missing: sign a proof for this request with the device key (`postern-agent token`)');
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
      if (error instanceof EarInvalid || error instanceof DpopInvalid) return refuse(error.code, error.message);
      if (error instanceof Overloaded) throw new HttpError('rate_limited', `the server is at capacity (${error.message}): try again in a second`, { headers: { 'retry-after': '1' } });
      throw error;
    }
    if (!decision || decision.device.kid !== claims.cnf.jkt) return refuse('invalid_token', 'the device this token names is not enrolled with this key');
    ctx.set('x-postern-device', decision.device.id);
    ctx.set('x-postern-verdict', decision.verdict);
    ctx.set('x-postern-score', String(decision.score));
    if (isAllowed(decision.verdict)) {
      backend.metrics.authz.inc({ outcome: 'allowed' });
      ctx.status = 200;
      const body: z.infer<typeof authzAllowed> = { allow: true, device_id: decision.device.id, verdict: decision.verdict, score: decision.score };
      ctx.body = body;
      return;
    }
    backend.metrics.authz.inc({ outcome: 'denied' });
    throw new HttpError('not_compliant', `device ${decision.device.hostname} is ${decision.verdict}: fix the failing checks and report again`, {
      extra: {
        device_id: decision.device.id,
        verdict: decision.verdict,
        score: decision.score,
        failing: decision.checks.filter((c) => isFailing(c, now)).map((c) => ({ id: c.id, status: c.status, message: c.message, remediation: c.remediation })),
        help_url: `${backend.issuer}/my-device`,
      },
    });
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

/** `DPoP algs="ES256"`, with `error` and `error_description` when credentials were refused. */
function dpopChallenge(error: string | null, description: string): string {
  // error_description allows printable ASCII except the double quote and backslash (RFC 6749 §5.2).
  const safe = description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "'");
  return error === null ? 'DPoP algs="ES256"' : `DPoP error="${error}", error_description="${safe}", algs="ES256"`;
}
