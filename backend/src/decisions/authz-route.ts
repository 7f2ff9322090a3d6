import { TLSSocket } from 'node:tls';
import type { Router } from '@koa/router';
import type { Middleware } from 'koa';
import { checkResult, isAllowed, problemDetails, uuid, verdict } from '@postern/shared';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { credentialOf } from '../http/bearer.js';
import { databaseUnavailable } from '../http/error-handler.js';
import { HttpError } from '../http/http-error.js';
import type { Logger } from '../logging/logger.js';
import { isDatabaseUnavailable } from '../store/database-unavailable.js';
import { isFailing } from '../policy/evaluate.js';
import { Overloaded } from '../store/micro-batch.js';
import { checkDpopProof, DpopInvalid, replayedProof, type JtiSpend } from './dpop.js';
import { EarInvalid, verifyEar } from './ear.js';
import { ENVOY_PATH_PREFIX, originalRequest } from './original-request.js';
import { REPLICA_REPLAY_CAPACITY, SpentProofIds } from './replay-record.js';

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
 * `GET /v1/authz`: forward-auth for nginx auth_request, Caddy forward_auth, Traefik ForwardAuth and Envoy
 * ext_authz (which asks at `/v1/authz/<original path>`).
 * 200 allows, 401 means missing or invalid credentials, 403 not compliant: the statuses every
 * gateway understands. The one other status answered on purpose is 429 `rate_limited` (with
 * Retry-After) when the server is at capacity: `rate_limited` means 429 on every endpoint, and no
 * allowed status fits, since 401 would tell the device to fetch a new token and 403 would call it
 * noncompliant. nginx turns any status but 2xx/401/403 into a 500 for the user, so at nginx it fails
 * closed, as a 503 did before; Traefik and Envoy pass the 429 and its Retry-After to the client.
 */
export function authzRoutes(router: Router, backend: Backend): void {
  // RFC 9449 §7.1: a challenge names the algorithms, and an error when credentials were presented.
  const refuse = (code: 'unauthorized' | 'invalid_token' | 'invalid_dpop_proof' | 'use_dpop_nonce', message: string): never => {
    backend.metrics.authz.inc({ outcome: 'unauthenticated' });
    throw new HttpError(code, message, { headers: { 'www-authenticate': dpopChallenge(code === 'unauthorized' ? null : code, message) } });
  };

  const { forwarded, dpopNonces } = backend.forwardAuth;
  // The replay record. A proof must be refused everywhere, for its whole life, once it was accepted
  // once. With replica-bound nonces (POSTERN_DPOP_NONCE=replica) only this process, in this run,
  // accepts a proof at all: its nonce is keyed by a secret this process made at start and told no
  // one. So the record can be this process's memory: another replica, or this one restarted after a
  // crash, refuses the proof for its nonce (`use_dpop_nonce`, with a nonce of its own) before any
  // record is asked. That takes the database write off every request. Otherwise (nonces off, or
  // shared by every replica) any replica could accept the proof, so its id is spent in the
  // database every replica shares, in one batched statement with the requests beside it.
  const spentHere = dpopNonces?.mode === 'replica' ? new SpentProofIds(REPLICA_REPLAY_CAPACITY) : null;
  // `now`: the clock the proof was checked by, which its record's expiry is counted on.
  const spend = async (proof: JtiSpend, now: number): Promise<boolean> => {
    if (!spentHere) return backend.batches.dpopJtis.submit(proof);
    const outcome = spentHere.spend(proof, now * 1000);
    if (outcome === 'full') throw new Overloaded(`${spentHere.size} live DPoP proofs are recorded`);
    return outcome === 'fresh';
  };
  // `/v1/authz/*path`: Envoy's ext_authz HTTP service asks at its path_prefix + the original path.
  router.all(['/v1/authz', `${ENVOY_PATH_PREFIX}/*path`], failClosed(backend), async (ctx) => {
    // RFC 9449 §8: every answer carries the nonce to put in the next proof.
    if (dpopNonces) ctx.set('dpop-nonce', dpopNonces.current(backend.now()));
    const token = credentialOf(ctx, 'DPoP');
    const proof = ctx.get('dpop');
    if (!token) return refuse('unauthorized', 'present the device posture token as "Authorization: DPoP <token>" with a "DPoP" proof header (`postern-agent token`)');
    if (!proof) return refuse('invalid_dpop_proof', 'the "DPoP" proof header is missing: sign a proof for this request with the device key (`postern-agent token`)');
    const now = backend.now();
    let claims;
    let decision;
    try {
      claims = await verifyEar(backend.keys, backend.issuer, token, now);
      const original = originalRequest({ method: ctx.method, target: ctx.url, headers: ctx.headers, encrypted: ctx.req.socket instanceof TLSSocket }, forwarded);
      const proofId = await checkDpopProof(proof, { ...original, accessToken: token, jkt: claims.cnf.jkt, now, nonces: dpopNonces }, backend.publicKeys);
      // The token proves who the device is; the verdict is today's, from the standings the event
      // stream keeps current (decisions/standing-cache.ts), so revocation is immediate. It is read
      // while the proof id is spent.
      let fresh;
      [fresh, decision] = await Promise.all([spend(proofId, now), backend.standings.get(claims.sub)]);
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

/**
 * Every answer is `no-store`, errors included. What the route cannot decide is a 503, never a
 * 500: `database_unavailable` while the database is unreachable and the device's cached standing
 * has expired, else `unavailable`. Gateways fail closed on both.
 */
function failClosed(backend: { metrics: Backend['metrics']; log: Logger }): Middleware {
  return async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    try {
      await next();
    } catch (error) {
      if (error instanceof HttpError) throw error;
      backend.metrics.authz.inc({ outcome: 'unavailable' });
      if (isDatabaseUnavailable(error)) throw databaseUnavailable();
      backend.log.error({ err: error }, 'forward-auth failed');
      throw new HttpError('unavailable', 'the server could not decide this request (its log says why): refuse it, and ask again in a moment', { headers: { 'retry-after': '1' } });
    }
  };
}

/** `DPoP algs="ES256"`, with `error` and `error_description` when credentials were refused. */
function dpopChallenge(error: string | null, description: string): string {
  // error_description allows printable ASCII except the double quote and backslash (RFC 6749 §5.2).
  const safe = description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "'");
  return error === null ? 'DPoP algs="ES256"' : `DPoP error="${error}", error_description="${safe}", algs="ES256"`;
}
