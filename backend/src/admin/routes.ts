import type { Router } from '@koa/router';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { decide, decideMany } from '../decisions/decide.js';
import { toSeconds } from '../store/rows.js';
import { createEnrollmentToken } from '../enrollment/tokens.js';
import { createGatewayKey, DEFAULT_GATEWAY_SCOPES, gatewayScope, listGatewayKeys, revokeGatewayKey } from '../gateways/gateway-keys.js';
import { GroupUnknown, setDeviceGroup } from '../devices/set-group.js';
import { changeDeviceStatus, StatusRefused } from '../devices/status.js';
import { HttpError } from '../http/http-error.js';
import { readJson, readOptionalJson } from '../http/read-json.js';
import { groupName as name } from '../policy/document.js';
import type { Device } from '../store/schema.js';
import { actorOf, requireRole } from './require-admin.js';
import type { DeviceView } from './response-schemas.js';

/** The bounds of the admin bodies, shared with the CLI so its `--help` and its checks say the same. */
export const ADMIN_BOUNDS = {
  tokenUses: { min: 1, max: 100_000 },
  tokenExpiresS: { min: 60, max: 365 * 86400 },
  deviceTtlS: { min: 60, max: 10 * 365 * 86400 },
  ownerChars: 200,
  gatewayNameChars: 100,
  denyReasonChars: 500,
  changeRefChars: 100,
} as const;
const B = ADMIN_BOUNDS;

export const newTokenBody = z.object({
  group: name,
  uses: z.number().int().min(B.tokenUses.min).max(B.tokenUses.max).default(1),
  expires_in_s: z.number().int().min(B.tokenExpiresS.min).max(B.tokenExpiresS.max).default(86400),
  device_ttl_s: z.number().int().min(B.deviceTtlS.min).max(B.deviceTtlS.max).nullable().default(null),
  owner: z.string().trim().min(1).max(B.ownerChars).nullable().default(null),
  change_ref: z.string().trim().min(1).max(B.changeRefChars).nullable().default(null).describe('the change (ticket) the devices are enrolled under, e.g. CHG-123'),
  approval: z.boolean().default(false),
});
export const newGatewayKeyBody = z.object({
  name: z.string().trim().min(1).max(B.gatewayNameChars),
  scopes: z.array(gatewayScope).min(1).default([...DEFAULT_GATEWAY_SCOPES]).describe('authz: forward-auth and the compliance API; ssf: Shared Signals streams'),
});
export const gatewayKeyListQuery = z.object({ all: z.enum(['0', '1']).optional().describe('1: revoked keys too') });
export const setGroupBody = z.object({
  group: name,
  create: z.boolean().default(false).describe('make the group when no enrollment token, policy or device names it yet (else 404 unknown_group)'),
  reason: z.string().trim().min(1).max(B.denyReasonChars).optional().describe('why, for the audit log'),
});
export const denyBody = z.object({ reason: z.string().trim().min(1).max(B.denyReasonChars).describe('why, for the audit log: required') });
/** Approve and revoke: a body is optional; its reason goes into the event and the audit log. */
export const statusNoteBody = z.object({ reason: z.string().trim().min(1).max(B.denyReasonChars).optional().describe('why, for the audit log') });

/** The admin API behind the `postern-server` admin commands: reads need the role viewer, device changes operator, tokens and keys admin. */
export function adminRoutes(router: Router, backend: Backend): void {
  const viewer = requireRole(backend, 'viewer');
  const operator = requireRole(backend, 'operator');
  const admin = requireRole(backend, 'admin');

  router.post('/v1/admin/enrollment-tokens', admin, async (ctx) => {
    const body = await readJson(ctx, newTokenBody);
    const { token, row } = await createEnrollmentToken(
      backend.db,
      { group: body.group, uses: body.uses, expiresInS: body.expires_in_s, deviceTtlS: body.device_ttl_s, owner: body.owner, changeRef: body.change_ref, approval: body.approval, actor: actorOf(ctx) },
      backend.now(),
    );
    ctx.status = 201;
    ctx.body = { token, id: row.id, group: row.group_name, uses: row.max_uses, expires_at: toSeconds(row.expires_at), device_ttl_s: row.device_ttl_s, owner: row.owner, change_ref: row.change_ref, approval: row.requires_approval };
  });

  router.post('/v1/admin/gateway-keys', admin, async (ctx) => {
    const body = await readJson(ctx, newGatewayKeyBody);
    ctx.status = 201;
    ctx.body = await createGatewayKey(backend.db, body.name, actorOf(ctx), body.scopes);
  });

  router.get('/v1/admin/gateway-keys', viewer, async (ctx) => {
    const query = gatewayKeyListQuery.safeParse(ctx.query);
    if (!query.success) throw new HttpError('malformed', 'all must be 0 or 1');
    ctx.body = { keys: await listGatewayKeys(backend.db, { withRevoked: query.data.all === '1' }) };
  });

  router.post('/v1/admin/gateway-keys/:id/revoke', admin, async (ctx) => {
    const revoked = await revokeGatewayKey(backend.db, ctx.params.id ?? '', actorOf(ctx), backend.now());
    if (!revoked) throw new HttpError('not_found', `no gateway key ${ctx.params.id}: \`gateway-key list\` shows every key's id`);
    // This replica at once; the others when they read the event.
    backend.standings.gateways.forget(revoked.id);
    ctx.body = revoked;
  });

  router.get('/v1/admin/devices', viewer, async (ctx) => {
    const rows = await backend.db.selectFrom('devices').select('id').orderBy('enrolled_at').execute();
    const decisions = await decideMany(backend.db, rows.map((row) => ({ deviceId: row.id })));
    ctx.body = { devices: decisions.flatMap((d) => (d ? [{ ...deviceView(d.device), verdict: d.verdict, score: d.score }] : [])) };
  });

  router.get('/v1/admin/devices/:id', viewer, async (ctx) => {
    const decision = await decide(backend.db, ctx.params.id ?? '');
    if (!decision) throw new HttpError('unknown_device', `no device ${ctx.params.id}`);
    ctx.body = { ...deviceView(decision.device), verdict: decision.verdict, score: decision.score, checks: decision.checks, policy: decision.policy, evaluated_at: decision.evaluated_at, expires_at_verdict: decision.expires_at };
  });

  router.post('/v1/admin/devices/:id/group', operator, async (ctx) => {
    const body = await readJson(ctx, setGroupBody);
    const device = await setDeviceGroup(backend, { deviceId: ctx.params.id ?? '', group: body.group, create: body.create, actor: actorOf(ctx), ...(body.reason ? { reason: body.reason } : {}) }).catch((error: unknown) => {
      if (error instanceof GroupUnknown) throw new HttpError('unknown_group', error.message, { extra: { groups: error.known } });
      throw error;
    });
    if (!device) throw new HttpError('unknown_device', `no device ${ctx.params.id}`);
    const decision = await decide(backend.db, device.id);
    ctx.body = { ...deviceView(device), verdict: decision?.verdict ?? 'unknown', score: decision?.score ?? 0, policy: decision?.policy ?? null };
  });

  for (const change of ['approve', 'deny', 'revoke'] as const) {
    router.post(`/v1/admin/devices/:id/${change}`, operator, async (ctx) => {
      // Approve and revoke take an optional body (the CLI sends none without --reason).
      const body = change === 'deny' ? await readJson(ctx, denyBody) : await readOptionalJson(ctx, statusNoteBody);
      try {
        const device = await changeDeviceStatus(backend, { deviceId: ctx.params.id ?? '', change, actor: actorOf(ctx), ...(body.reason ? { reason: body.reason } : {}) });
        ctx.body = deviceView(device);
      } catch (error) {
        if (error instanceof StatusRefused) throw new HttpError(error.code, error.message);
        throw error;
      }
    });
  }
}

export function deviceView(d: Device): DeviceView {
  return {
    device_id: d.id,
    hostname: d.hostname,
    platform: d.platform,
    group: d.group_name,
    owner: d.owner,
    status: d.status,
    kid: d.kid,
    serial: d.serial,
    agent_version: d.agent_version,
    enrolled_at: toSeconds(d.enrolled_at),
    expires_at: toSeconds(d.expires_at),
    last_seen_at: toSeconds(d.last_seen_at),
    change_ref: d.change_ref,
    pending_until: toSeconds(d.pending_until),
    relink_of: d.relink_of,
    key_created_at: toSeconds(d.key_created_at),
    pending_kid: d.pending_kid,
  };
}
