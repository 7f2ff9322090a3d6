import type { Router } from '@koa/router';
import { openApiDocument } from './openapi-document.js';

/** `GET /openapi.json`: the HTTP API in OpenAPI 3.1. Built once: it depends on nothing that changes. */
export function openApiRoutes(router: Router): void {
  let document: ReturnType<typeof openApiDocument> | undefined;
  router.get('/openapi.json', (ctx) => {
    document ??= openApiDocument();
    ctx.set('cache-control', 'public, max-age=300');
    ctx.body = document;
  });
}
