import type { Router } from '@koa/router';
import { attestationRequest, type EvidenceClaims } from '@postern/shared';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { spendHttpNonce } from '../nonces/http-nonce.js';
import { consume, rateLimited } from '../ratelimit/limits.js';
import { AttestationError } from './attestation-error.js';
import { exchangeAttestation } from './exchange.js';

/** The attestation exchange over plain HTTPS, for networks whose proxies break WebSocket. */
export function attestationRoutes(router: Router, backend: Backend): void {
  const { nonces } = backend.limits;
  router.get('/v1/nonce', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const wait = await consume(nonces, backend.clientAddress(ctx.req));
    if (wait !== null) throw rateLimited(`too many nonces asked for from this address (${nonces.points} a minute, POSTERN_NONCES_PER_MINUTE): ask for one per report`, wait);
    // Self-verifying (nonces/http-nonce.ts): issuing one stores nothing.
    ctx.body = { nonce: backend.httpNonces.issue(backend.now()), server_time: backend.now() };
  });

  router.post('/v1/attestations', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const { token } = await readJson(ctx, attestationRequest);
    const claimed = peekNonce(token);
    const expiresAt = claimed === null ? null : backend.httpNonces.expiry(claimed, backend.now());
    try {
      // A forged or expired nonce is expected by nobody: verification refuses it with stale_nonce.
      const { result } = await exchangeAttestation(backend, token, expiresAt === null ? null : claimed, null, {
        spendNonce: (nonce) => spendHttpNonce(backend.db, nonce, expiresAt ?? 0),
      });
      ctx.body = { seq: result.seq, verdict: result.verdict, score: result.score, checks: result.checks, token: result.token, nonce: backend.httpNonces.issue(backend.now()) };
    } catch (error) {
      if (!(error instanceof AttestationError)) throw error;
      // The shared table gives each protocol code its one status; capacity says when to retry.
      throw new HttpError(error.code, error.message, error.code === 'rate_limited' ? { headers: { 'retry-after': '2' } } : {});
    }
  });
}

/** Reads eat_nonce from the unverified payload only to check its MAC and expiry before verification. */
function peekNonce(token: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Partial<EvidenceClaims>;
    return typeof payload.eat_nonce === 'string' && payload.eat_nonce.length <= 64 ? payload.eat_nonce : null;
  } catch {
    return null;
  }
}
