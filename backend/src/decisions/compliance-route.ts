import type { Router } from '@koa/router';
import type { ComplianceResponse } from '@postern/shared';
import type { Backend } from '../context.js';
import { authenticateGateway } from '../gateways/gateway-keys.js';
import { credentialOf } from '../http/bearer.js';
import { HttpError } from '../http/http-error.js';
import { decide } from './decide.js';

/** `GET /v1/devices/{id}/compliance`: the background-check answer for a gateway holding an API key. */
export function complianceRoutes(router: Router, backend: Backend): void {
  router.get('/v1/devices/:id/compliance', async (ctx) => {
    const key = credentialOf(ctx, 'Bearer');
    if (!key || !(await authenticateGateway(backend.db, key))) {
      // RFC 6750 §3: a bare challenge when no key came, invalid_token for a key that is not one.
      throw new HttpError('unauthorized', 'a gateway API key is required as "Authorization: Bearer <key>" (create one with `postern-server gateway-key create`)', {
        headers: { 'www-authenticate': key ? 'Bearer error="invalid_token", error_description="the gateway API key is unknown or revoked"' : 'Bearer' },
      });
    }
    const decision = await decide(backend.db, ctx.params.id ?? '');
    if (!decision) throw new HttpError('unknown_device', `no device ${ctx.params.id}`);
    ctx.set('cache-control', 'no-store');
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
