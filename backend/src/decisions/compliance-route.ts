import type { Router } from '@koa/router';
import type { ComplianceResponse } from '@postern/shared';
import type { Backend } from '../context.js';
import { hasScope } from '../gateways/gateway-keys.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';

/**
 * `GET /v1/devices/{id}/compliance`: the background-check answer for a gateway holding an API key.
 * Decided from the standings in memory (decisions/standing-cache.ts), so it keeps answering through
 * a database outage until a device's cached standing expires; then 503 `database_unavailable`.
 */
export function complianceRoutes(router: Router, backend: Backend): void {
  const { gateways } = backend.standings;
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
    const decision = await backend.standings.get(ctx.params.id ?? '');
    if (!decision) throw new HttpError('unknown_device', `no device ${ctx.params.id}`);
    const body: ComplianceResponse = {
      device_id: decision.device.id,
      verdict: decision.verdict,
      score: decision.score,
      checks: decision.checks,
      policy: decision.policy,
      evaluated_at: decision.evaluated_at,
      expires_at: decision.expires_at,
    };
    ctx.body = body;
  });
}
