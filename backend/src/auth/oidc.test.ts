import { describe, expect, it } from 'vitest';
import { oidcSettingsFromEnv } from '../config.js';
import { accountNameOf, roleOf } from './oidc.js';
import { sameOriginPath } from './next-path.js';

const complete = { POSTERN_OIDC_ISSUER: 'https://login.example.com', POSTERN_OIDC_CLIENT_ID: 'postern', POSTERN_OIDC_CLIENT_SECRET: 's3cret', POSTERN_OIDC_ROLES: 'sec-admins=admin, sec-ops=operator,it=viewer' };

describe('OpenID Connect settings', () => {
  it('are absent without an issuer, and complete with the default claim and scopes', () => {
    expect(oidcSettingsFromEnv({})).toBeUndefined();
    expect(oidcSettingsFromEnv(complete)).toEqual({
      issuer: 'https://login.example.com',
      clientId: 'postern',
      clientSecret: 's3cret',
      roleClaim: 'groups',
      scopes: 'openid email profile',
      roles: new Map([
        ['sec-admins', 'admin'],
        ['sec-ops', 'operator'],
        ['it', 'viewer'],
      ]),
    });
    expect(oidcSettingsFromEnv({ ...complete, POSTERN_OIDC_ROLE_CLAIM: 'roles' })?.roleClaim).toBe('roles');
  });

  it('refuse half a configuration, naming what is missing', () => {
    expect(() => oidcSettingsFromEnv({ POSTERN_OIDC_CLIENT_ID: 'postern' })).toThrow(/without POSTERN_OIDC_ISSUER/);
    expect(() => oidcSettingsFromEnv({ ...complete, POSTERN_OIDC_CLIENT_SECRET: '' })).toThrow('POSTERN_OIDC_ISSUER is set, but not POSTERN_OIDC_CLIENT_SECRET');
    expect(() => oidcSettingsFromEnv({ ...complete, POSTERN_OIDC_ISSUER: 'login.example.com' })).toThrow(/is not a URL/);
  });

  it('refuse a mapping to a role that does not exist, or without a group', () => {
    expect(() => oidcSettingsFromEnv({ ...complete, POSTERN_OIDC_ROLES: 'sec-admins=root' })).toThrow(/"sec-admins=root" is not group=role/);
    expect(() => oidcSettingsFromEnv({ ...complete, POSTERN_OIDC_ROLES: '=admin' })).toThrow(/is not group=role/);
  });
});

describe('the role of a person signing in', () => {
  const mapping = new Map([
    ['sec-admins', 'admin'],
    ['sec-ops', 'operator'],
    ['it', 'viewer'],
  ] as const);

  it('is the highest role any of their groups maps to', () => {
    expect(roleOf(['it', 'sec-ops', 'staff'], mapping)).toBe('operator');
    expect(roleOf(['sec-admins', 'it'], mapping)).toBe('admin');
    expect(roleOf('it', mapping)).toBe('viewer');
  });

  it('is none for no mapped group, no claim, or a claim of another shape', () => {
    expect(roleOf(['staff'], mapping)).toBeNull();
    expect(roleOf(undefined, mapping)).toBeNull();
    expect(roleOf({ 'sec-admins': true }, mapping)).toBeNull();
    expect(roleOf([1, null], mapping)).toBeNull();
  });
});

describe('the account name of a person signing in', () => {
  it('is their address, else username, else name, in the characters an admin name allows', () => {
    expect(accountNameOf({ sub: 'x', email: 'ines@example.com', name: 'Ines' })).toBe('ines@example.com');
    expect(accountNameOf({ sub: 'x', preferred_username: 'omar' })).toBe('omar');
    expect(accountNameOf({ sub: 'x', name: 'Paul Sales' })).toBe('Paul-Sales');
    expect(accountNameOf({ sub: 'x', email: 'a+b@example.com' })).toBe('a-b@example.com');
  });
});

describe('where a browser goes after signing in', () => {
  it('is a path on this server', () => {
    expect(sameOriginPath('/')).toBe('/');
    expect(sameOriginPath('/devices?verdict=noncompliant#top')).toBe('/devices?verdict=noncompliant#top');
    expect(sameOriginPath('/a/../b')).toBe('/b');
  });

  it('is never another origin, however it is spelled', () => {
    for (const raw of ['//evil.example', '/\\evil.example', 'https://evil.example/', 'evil.example', '/\t/evil.example', 'javascript:alert(1)', '', '/.//evil.example', '/..//evil.example', '/x/..//evil.example', '/%2e//evil.example', '/a/%2e%2e//evil.example']) expect(sameOriginPath(raw)).toBeNull();
  });
});
