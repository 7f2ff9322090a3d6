import type { Router } from '@koa/router';
import { z } from 'zod';
import type { Backend } from '../context.js';

/** The published keys: public P-256 members only, as RFC 7517 sets them. */
export const jwksResponse = z.object({
  keys: z.array(z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string(), kid: z.string(), alg: z.literal('ES256'), use: z.literal('sig') })),
});

/** `GET /.well-known/jwks.json`: the public keys that verify attestation results offline. */
export function jwksRoutes(router: Router, backend: Backend): void {
  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = backend.keys.jwks;
  });
}
