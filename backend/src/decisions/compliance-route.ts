import type { Router } from '@koa/router';
import type { ComplianceResponse } from '@postern/shared';
import type { Backend } from '../context.js';
import { hasScope } from '../gateways/gateway-keys.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import type { Standing } from './decide.js';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `GET /v1/devices/{id}/compliance`: the background-check answer for a gateway holding an API key.
 * Decided from the standings in memory (decisions/standing-cache.ts), so it keeps answering through
 * a database outage until a device's cached standing expires; then 503 `database_unavailable`.
 */
export function complianceRoutes(router: Router, backend: Backend): void {
  const { gateways } = backend.standings;
  // The body only changes with the standing, and the cache hands out the same object until it does:
  // serialised once per standing, not per request.
  const bodies = new WeakMap<Standing, string>();
  router.get('/v1/devices/:id/compliance', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const key = credentialOf(ctx, 'Bearer');
    const gateway = key ? await gateways.authenticate(backend.db, key) : null;
    if (!key || !gateway) {
      // RFC 6750 §3: a bare challenge when no key came, invalid_token for a key that is not one.
      throw new HttpError('unauthorized', 'a gateway API key is required as "Authorization: Bearer <key>" (create one with `postern-server gateway-key create`)', {
        headers: { 'www-authenticate': key ? 'Bearer error="invalid_token", error_description="the gateway API key is unknown or revoked"' : 'Bearer' },
      });
    }
    if (!hasScope(gateway, 'authz')) {
      throw new HttpError('insufficient_scope', `the gateway key "${gateway.name}" may not ask for device compliance: create a key with \`--scope authz\``, {
        headers: { 'www-authenticate': 'Bearer error="insufficient_scope", scope="authz"' },
      });
    }
    const standing = await backend.standings.get(ctx.params.id ?? '');
    if (!standing) throw new HttpError('unknown_device', `no device ${ctx.params.id}`);
    let body = bodies.get(standing);
    if (body === undefined) {
      body = JSON.stringify(complianceOf(standing));
      bodies.set(standing, body);
    }
    // Set before the body, so Koa does not take the text for text/plain.
    ctx.set('content-type', JSON_TYPE);
    ctx.body = body;
  });
}

function complianceOf(standing: Standing): ComplianceResponse {
  return {
    device_id: standing.device.id,
    verdict: standing.verdict,
    score: standing.score,
    checks: standing.checks,
    policy: standing.policy,
    evaluated_at: standing.evaluated_at,
    expires_at: standing.expires_at,
  };
}
