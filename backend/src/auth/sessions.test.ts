import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { createAdmin, updateAdmin } from '../accounts/accounts.js';
import { openStore, type Store } from '../store/open.js';
import { endSession, findSession, SESSION_ABSOLUTE_S, SESSION_IDLE_S, startSession } from './sessions.js';
import { createSignInLink, peekSignInLink, redeemSignInLink, SIGN_IN_LINK_TTL_S } from './sign-in-links.js';

describe.each(databaseKinds)('sessions and sign-in links on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;
  let adminId: string;
  /** The operator making links for itself. */
  let sam: { id: string; name: string };
  const own = { actor: 'admin:sam' };
  const t0 = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    database = await testDatabase(kind);
    store = await openStore(database);
    sam = await createAdmin(store.db, { name: 'sam', email: null, role: 'operator', actor: 'postern' });
    adminId = sam.id;
    await createAdmin(store.db, { name: 'root', email: null, role: 'admin', actor: 'postern' });
  });
  afterAll(async () => {
    await store?.close();
    await database?.cleanup();
  });

  it('keeps only the hash of a session, and finds it by the cookie with a CSRF token of its own', async () => {
    const token = await startSession(store.db, adminId, t0);
    const row = await store.db.selectFrom('admin_sessions').select('token_hash').where('admin_id', '=', adminId).executeTakeFirstOrThrow();
    expect(row.token_hash).not.toContain(token.slice(-64));
    const session = await findSession(store.db, token, t0 + 1);
    expect(session).toMatchObject({ admin: { name: 'sam', role: 'operator' }, csrf: expect.any(String) });
    const other = await findSession(store.db, await startSession(store.db, adminId, t0), t0 + 1);
    expect(other?.csrf).not.toBe(session?.csrf);
    // The right id with another secret is no session.
    expect(await findSession(store.db, `${token.slice(0, -64)}${'0'.repeat(64)}`, t0 + 1)).toBeNull();
  });

  it('ends a session left idle, and one kept busy once it is old enough', async () => {
    const idle = await startSession(store.db, adminId, t0);
    expect(await findSession(store.db, idle, t0 + SESSION_IDLE_S - 1)).not.toBeNull();
    expect(await findSession(store.db, idle, t0 + 2 * SESSION_IDLE_S)).toBeNull();

    const busy = await startSession(store.db, adminId, t0);
    for (let at = t0 + 3600; at < t0 + SESSION_ABSOLUTE_S; at += 3600) expect(await findSession(store.db, busy, at)).not.toBeNull();
    expect(await findSession(store.db, busy, t0 + SESSION_ABSOLUTE_S)).toBeNull();
  });

  it('ends every session and sign-in link of an admin who is disabled, and a signed-out session', async () => {
    const token = await startSession(store.db, adminId, t0);
    await endSession(store.db, token);
    expect(await findSession(store.db, token, t0 + 1)).toBeNull();
    const kept = await startSession(store.db, adminId, t0);
    const link = await createSignInLink(store.db, { admin: sam, next: '/', ...own }, t0);
    await updateAdmin(store.db, { name: 'sam', change: { disabled: true }, actor: 'admin:root' });
    expect(await findSession(store.db, kept, t0 + 1)).toBeNull();
    await updateAdmin(store.db, { name: 'sam', change: { disabled: false }, actor: 'admin:root' });
    expect(await findSession(store.db, kept, t0 + 1)).toBeNull();
    expect(await redeemSignInLink(store.db, link.secret, t0 + 1)).toBeNull();
  });

  it('spends a sign-in link once, within its ten minutes only', async () => {
    const { secret, expiresAt } = await createSignInLink(store.db, { admin: sam, next: '/devices', ...own }, t0);
    expect(expiresAt).toBe(t0 + SIGN_IN_LINK_TTL_S);
    const late = await createSignInLink(store.db, { admin: sam, next: '/', ...own }, t0);
    expect(await redeemSignInLink(store.db, secret, t0 + 5)).toEqual({ adminId, next: '/devices' });
    expect(await redeemSignInLink(store.db, secret, t0 + 6)).toBeNull();
    expect(await redeemSignInLink(store.db, late.secret, t0 + SIGN_IN_LINK_TTL_S)).toBeNull();
    const row = await store.db.selectFrom('admin_sign_in_links').select('secret_hash').executeTakeFirstOrThrow();
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('lets only one of two simultaneous redemptions of a link through', async () => {
    const { secret } = await createSignInLink(store.db, { admin: sam, next: '/', ...own }, t0);
    const results = await Promise.all([redeemSignInLink(store.db, secret, t0 + 1), redeemSignInLink(store.db, secret, t0 + 1)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
  });

  it('shows what a link signs in as without spending it, however often it is looked at, and not once spent or expired', async () => {
    const { secret } = await createSignInLink(store.db, { admin: sam, next: '/audit', ...own }, t0);
    for (let i = 0; i < 3; i++) expect(await peekSignInLink(store.db, secret, t0 + 1)).toEqual({ adminId, next: '/audit' });
    expect(await peekSignInLink(store.db, `${secret.slice(0, -64)}${'0'.repeat(64)}`, t0 + 1)).toBeNull();
    expect(await peekSignInLink(store.db, secret, t0 + SIGN_IN_LINK_TTL_S)).toBeNull();
    expect(await redeemSignInLink(store.db, secret, t0 + 2)).toEqual({ adminId, next: '/audit' });
    expect(await peekSignInLink(store.db, secret, t0 + 3)).toBeNull();
  });

  it('audits a link made for another admin, who made it for whom, never its secret; a link for oneself is not audited', async () => {
    const before = await store.db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow();
    const since = Number(before.id ?? 0);
    await createSignInLink(store.db, { admin: sam, next: '/', ...own }, t0);
    const { secret } = await createSignInLink(store.db, { admin: sam, next: '/devices', actor: 'admin:root' }, t0);
    const rows = await store.db.selectFrom('audit_log').select(['actor', 'kind', 'detail']).where('id', '>', since).orderBy('id').execute();
    expect(rows).toEqual([{ actor: 'admin:root', kind: 'admin_sign_in_link.created', detail: { id: expect.any(String), for: 'sam', next: '/devices', expires_at: t0 + SIGN_IN_LINK_TTL_S } }]);
    expect(JSON.stringify(rows)).not.toContain(secret.slice(-64));
  });
});
