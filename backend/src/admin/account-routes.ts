import type { Router } from '@koa/router';
import { z } from 'zod';
import { AccountRefused, adminName, createAdmin, findAdmin, listAdmins, updateAdmin, type Admin } from '../accounts/accounts.js';
import { role } from '../accounts/roles.js';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { createAdminToken } from './admin-token.js';
import { actorOf, requireRole } from './require-admin.js';

export const newAdminBody = z.object({ name: adminName, email: z.email().max(320).nullable().default(null), role });
export const setRoleBody = z.object({ role });
export const newAdminTokenBody = z.object({ name: z.string().trim().min(1).max(100).default('cli') });

export const adminView = z.object({ name: z.string(), email: z.string().nullable(), role, disabled: z.boolean(), created_at: z.number().int(), oidc: z.boolean() });
export const adminList = z.object({ admins: z.array(adminView) });
export const adminAccount = z.object({ name: z.string(), email: z.string().nullable(), role, disabled: z.boolean() });
export const adminTokenCreated = z.object({ token: z.string(), id: z.string(), name: z.string(), admin: z.string() });

const accountOf = (a: Admin): z.infer<typeof adminAccount> => ({ name: a.name, email: a.email, role: a.role, disabled: a.disabled });

/** Admin accounts and their API tokens: all of it needs the role admin. */
export function accountRoutes(router: Router, backend: Backend): void {
  const admin = requireRole(backend, 'admin');

  router.get('/v1/admin/admins', admin, async (ctx) => {
    const body: z.infer<typeof adminList> = { admins: await listAdmins(backend.db) };
    ctx.body = body;
  });

  router.post('/v1/admin/admins', admin, async (ctx) => {
    const body = await readJson(ctx, newAdminBody);
    ctx.body = accountOf(await refusalsAsHttp(createAdmin(backend.db, { ...body, actor: actorOf(ctx) })));
    ctx.status = 201;
  });

  router.post('/v1/admin/admins/:name/role', admin, async (ctx) => {
    const body = await readJson(ctx, setRoleBody);
    ctx.body = accountOf(await refusalsAsHttp(updateAdmin(backend.db, { name: ctx.params.name ?? '', change: { role: body.role }, actor: actorOf(ctx) })));
  });

  for (const [change, disabled] of [['disable', true], ['enable', false]] as const) {
    router.post(`/v1/admin/admins/:name/${change}`, admin, async (ctx) => {
      ctx.body = accountOf(await refusalsAsHttp(updateAdmin(backend.db, { name: ctx.params.name ?? '', change: { disabled }, actor: actorOf(ctx) })));
    });
  }

  router.post('/v1/admin/admins/:name/tokens', admin, async (ctx) => {
    const body = await readJson(ctx, newAdminTokenBody);
    const account = await findAdmin(backend.db, { name: ctx.params.name ?? '' });
    if (!account) throw new HttpError('unknown_admin', `no admin named ${ctx.params.name}: \`postern-server admin list\` shows them`);
    const { token, id } = await createAdminToken(backend.db, { admin: account, name: body.name, actor: actorOf(ctx) });
    ctx.status = 201;
    const created: z.infer<typeof adminTokenCreated> = { token, id, name: body.name, admin: account.name };
    ctx.body = created;
  });
}

async function refusalsAsHttp<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof AccountRefused) throw new HttpError(error.code, error.message);
    throw error;
  }
}
