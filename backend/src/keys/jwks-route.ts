import type { Router } from '@koa/router';
import type { Backend } from '../context.js';

/** `GET /.well-known/jwks.json`: the public keys that verify attestation results offline. */
export function jwksRoutes(router: Router, backend: Backend): void {
  router.get('/.well-known/jwks.json', (ctx) => {
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = backend.keys.jwks;
  });
}
