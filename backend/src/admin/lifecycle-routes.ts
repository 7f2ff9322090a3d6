import type { Router } from '@koa/router';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { decide } from '../decisions/decide.js';
import { extendDevice, relinkDevice, setDeviceDetail } from '../devices/lifecycle.js';
import { listEnrollmentTokens, revokeEnrollmentToken } from '../enrollment/tokens.js';
import { listGroupRules, setGroupRules, type GroupRules } from '../groups/settings.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { readQuery } from '../http/read-query.js';
import { groupName } from '../policy/document.js';
import { ADMIN_BOUNDS as B, deviceView } from './routes.js';
import { actorOf, requireRole } from './require-admin.js';

export const tokenListQuery = z.object({ all: z.enum(['0', '1']).default('0').describe('1: also tokens that can no longer enroll (revoked, expired, used up)') });
export const extendBody = z.object({
  until: z.number().int().positive().describe('when the device\'s access ends, seconds since the epoch'),
  reason: z.string().trim().min(1).max(B.denyReasonChars).optional().describe('why, for the audit log'),
});
export const setOwnerBody = z.object({ owner: z.email().max(B.ownerChars).describe("the email of the person responsible for the device") });
export const setChangeRefBody = z.object({ change_ref: z.string().trim().min(1).max(B.changeRefChars).describe('the change (ticket) the device runs under, e.g. CHG-123') });
export const groupRulesBody = z.object({
  max_device_lifetime_s: z.number().int().min(B.deviceTtlS.min).max(B.deviceTtlS.max).nullable().optional().describe('longest access one token or extension may give; null: no limit'),
  require_owner: z.boolean().optional().describe("tokens must name an owner's email"),
  require_change_ref: z.boolean().optional().describe('tokens must carry a change reference'),
});

const rulesView = (r: GroupRules) => ({ group: r.group, max_device_lifetime_s: r.maxDeviceLifetimeS, require_owner: r.requireOwner, require_change_ref: r.requireChangeRef });

/** The device lifecycle in the admin API: tokens listed and revoked, end dates, owners, change references, relinks, group rules. */
export function lifecycleRoutes(router: Router, backend: Backend): void {
  // Roles as everywhere under /v1/admin: reads viewer, device actions operator, tokens and group rules admin.
  const viewer = requireRole(backend, 'viewer');
  const operator = requireRole(backend, 'operator');
  const admin = requireRole(backend, 'admin');

  router.get('/v1/admin/enrollment-tokens', viewer, async (ctx) => {
    const query = readQuery(ctx, tokenListQuery);
    ctx.body = { tokens: await listEnrollmentTokens(backend.db, { all: query.all === '1', now: backend.now() }) };
  });

  router.post('/v1/admin/enrollment-tokens/:id/revoke', admin, async (ctx) => {
    ctx.body = await revokeEnrollmentToken(backend.db, { id: ctx.params.id ?? '', actor: actorOf(ctx) }, backend.now());
  });

  const withVerdict = async (device: Parameters<typeof deviceView>[0]) => {
    const decision = await decide(backend.db, device.id);
    return { ...deviceView(device), verdict: decision?.verdict ?? 'unknown', score: decision?.score ?? 0, policy: decision?.policy ?? null };
  };

  router.post('/v1/admin/devices/:id/extend', operator, async (ctx) => {
    const body = await readJson(ctx, extendBody);
    ctx.body = await withVerdict(await extendDevice(backend, { deviceId: ctx.params.id ?? '', until: body.until, actor: actorOf(ctx), ...(body.reason ? { reason: body.reason } : {}) }));
  });

  router.post('/v1/admin/devices/:id/owner', operator, async (ctx) => {
    const body = await readJson(ctx, setOwnerBody);
    ctx.body = deviceView(await setDeviceDetail(backend, { deviceId: ctx.params.id ?? '', field: 'owner', value: body.owner, actor: actorOf(ctx) }));
  });

  router.post('/v1/admin/devices/:id/change-ref', operator, async (ctx) => {
    const body = await readJson(ctx, setChangeRefBody);
    ctx.body = deviceView(await setDeviceDetail(backend, { deviceId: ctx.params.id ?? '', field: 'change_ref', value: body.change_ref, actor: actorOf(ctx) }));
  });

  router.post('/v1/admin/devices/:id/relink', operator, async (ctx) => {
    const { device, replaced } = await relinkDevice(backend, { deviceId: ctx.params.id ?? '', actor: actorOf(ctx) });
    ctx.body = { device: deviceView(device), replaced: deviceView(replaced) };
  });

  router.get('/v1/admin/groups', viewer, async (ctx) => {
    ctx.body = { groups: (await listGroupRules(backend.db)).map(rulesView) };
  });

  router.post('/v1/admin/groups/:group/settings', admin, async (ctx) => {
    const group = groupName.safeParse(ctx.params.group);
    if (!group.success) throw new HttpError('malformed', `${JSON.stringify(ctx.params.group)} is not a group name: letters, digits, ".", "_" and "-" only`);
    const body = await readJson(ctx, groupRulesBody);
    const rules = await setGroupRules(
      backend.db,
      {
        group: group.data,
        actor: actorOf(ctx),
        ...(body.max_device_lifetime_s !== undefined ? { maxDeviceLifetimeS: body.max_device_lifetime_s } : {}),
        ...(body.require_owner !== undefined ? { requireOwner: body.require_owner } : {}),
        ...(body.require_change_ref !== undefined ? { requireChangeRef: body.require_change_ref } : {}),
      },
      backend.now(),
    );
    ctx.body = rulesView(rules);
  });
}
