import type { Router } from '@koa/router';
import { attestationRequest, type EvidenceClaims } from '@postern/shared';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { consumeHttpNonce, issueHttpNonce } from '../nonces/nonce.js';
import { AttestationError } from './attestation-error.js';
import { exchangeAttestation } from './exchange.js';

/** The attestation exchange over plain HTTPS, for networks whose proxies break WebSocket. */
export function attestationRoutes(router: Router, backend: Backend): void {
  router.get('/v1/nonce', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { nonce: await issueHttpNonce(backend.db, backend.now()), server_time: backend.now() };
  });

  router.post('/v1/attestations', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const { token } = await readJson(ctx, attestationRequest);
    const claimed = peekNonce(token);
    // The nonce is spent before verification, so a refused report cannot be retried with it.
    const issued = claimed !== null && (await consumeHttpNonce(backend.db, claimed, backend.now()));
    try {
      const { result } = await exchangeAttestation(backend, token, issued ? claimed : null, null);
      ctx.body = { seq: result.seq, verdict: result.verdict, score: result.score, checks: result.checks, token: result.token, nonce: await issueHttpNonce(backend.db, backend.now()) };
    } catch (error) {
      if (!(error instanceof AttestationError)) throw error;
      // The shared table gives each protocol code its one status; capacity says when to retry.
      throw new HttpError(error.code, error.message, error.code === 'rate_limited' ? { headers: { 'retry-after': '2' } } : {});
    }
  });
}

/** Reads eat_nonce from the unverified payload only to find which stored nonce to spend. */
function peekNonce(token: string): string | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Partial<EvidenceClaims>;
    return typeof payload.eat_nonce === 'string' && payload.eat_nonce.length <= 64 ? payload.eat_nonce : null;
  } catch {
    return null;
  }
}
