import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds, testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { AccountRefused, createAdmin, findAdmin, updateAdmin } from '../accounts/accounts.js';
import { openStore, type Store } from '../store/open.js';
import { upsertOidcAccount } from './oidc.js';

const ISSUER = 'https://login.example.com';
const person = (sub: string, email: string) => ({ subject: `${ISSUER} ${sub}`, claims: { iss: ISSUER, sub, email } });

describe.each(databaseKinds)('accounts made and updated by OpenID Connect sign-ins on %s', (kind) => {
  let database: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    database = await testDatabase(kind);
    store = await openStore(database);
  });
  afterAll(async () => {
    await store?.close();
    await database?.cleanup();
  });

  const auditOf = async (name: string) => {
    const rows = await store.db.selectFrom('audit_log').select(['actor', 'kind', 'detail']).orderBy('id').execute();
    return rows.filter((r) => r.detail.name === name);
  };

  it('makes one account of two first sign-ins of the same person at once, before any admin exists', async () => {
    const ines = person('u-ines', 'ines@example.com');
    const results = await Promise.all([upsertOidcAccount(store.db, { ...ines, role: 'admin' }), upsertOidcAccount(store.db, { ...ines, role: 'admin' })]);
    expect(results[0].admin).toEqual(results[1].admin);
    expect(results[0].admin).toMatchObject({ name: 'ines@example.com', role: 'admin', disabled: false });
    expect((await auditOf('ines@example.com')).map((r) => r.kind)).toEqual(['admin.created']);
  });

  it('makes one account of many first sign-ins of the same person at once while admins exist', async () => {
    const omar = person('u-omar', 'omar@example.com');
    const results = await Promise.all(Array.from({ length: 4 }, () => upsertOidcAccount(store.db, { ...omar, role: 'operator' })));
    expect(new Set(results.map((r) => r.admin.id)).size).toBe(1);
    expect((await auditOf('omar@example.com')).map((r) => r.kind)).toEqual(['admin.created']);
  });

  it('keeps the role admin of the last enabled admin whose groups now map lower, and audits why', async () => {
    const ines = person('u-ines', 'ines@example.com');
    const { admin, claimedRole } = await upsertOidcAccount(store.db, { ...ines, role: 'viewer' });
    expect(admin.role).toBe('admin');
    expect(claimedRole).toBe('viewer');
    expect((await auditOf('ines@example.com')).at(-1)).toEqual({
      actor: 'admin:ines@example.com',
      kind: 'admin.updated',
      detail: { name: 'ines@example.com', via: 'oidc', role: { from: 'admin', to: 'admin' }, email: 'ines@example.com', role_claimed: 'viewer', reason: expect.stringContaining('last enabled admin') },
    });
  });

  it('applies the lower role once another admin is enabled', async () => {
    await createAdmin(store.db, { name: 'root', email: null, role: 'admin', actor: 'postern' });
    const { admin } = await upsertOidcAccount(store.db, { ...person('u-ines', 'ines@example.com'), role: 'viewer' });
    expect(admin.role).toBe('viewer');
    expect((await auditOf('ines@example.com')).at(-1)?.detail).toEqual({ name: 'ines@example.com', via: 'oidc', role: { from: 'admin', to: 'viewer' }, email: 'ines@example.com' });
    // root is now the last admin, and set-role keeps it one.
    await expect(updateAdmin(store.db, { name: 'root', change: { role: 'operator' }, actor: 'admin:root' })).rejects.toBeInstanceOf(AccountRefused);
  });

  it('gives a first sign-in whose name a local account holds a name of its own', async () => {
    await createAdmin(store.db, { name: 'paul@example.com', email: null, role: 'viewer', actor: 'admin:root' });
    const { admin } = await upsertOidcAccount(store.db, { ...person('u-paul', 'paul@example.com'), role: 'operator' });
    expect(admin.name).toMatch(/^paul@example\.com-[0-9a-f]{6}$/);
    expect((await findAdmin(store.db, { name: 'paul@example.com' }))?.role).toBe('viewer');
  });

  it('lets only one of two admins demoted at once go, so one admin is always left', async () => {
    await createAdmin(store.db, { name: 'ann', email: null, role: 'admin', actor: 'admin:root' });
    const results = await Promise.allSettled([
      updateAdmin(store.db, { name: 'ann', change: { role: 'viewer' }, actor: 'admin:root' }),
      updateAdmin(store.db, { name: 'root', change: { disabled: true }, actor: 'admin:ann' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(AccountRefused);
    const left = await store.db.selectFrom('admins').select('name').where('role', '=', 'admin').where('disabled', '=', false).execute();
    expect(left).toHaveLength(1);
  });
});
