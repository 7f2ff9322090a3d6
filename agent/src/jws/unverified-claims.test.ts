import { SignJWT, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { unverifiedClaims } from './unverified-claims.js';

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('unverifiedClaims', () => {
  it('reads the claims of a JWT jose signed', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({ postern: { group: 'employees' } }).setProtectedHeader({ alg: 'ES256' }).setExpirationTime(1_900_000_000).sign(privateKey);
    expect(unverifiedClaims(token)).toEqual({ postern: { group: 'employees' }, exp: 1_900_000_000 });
  });

  it.each([
    ['two parts', `${part({ alg: 'ES256' })}.${part({ exp: 1 })}`],
    ['four parts', `${part({ alg: 'ES256' })}.${part({ exp: 1 })}.c2ln.c2ln`],
    ['an empty payload', `${part({ alg: 'ES256' })}..c2ln`],
    ['a character outside base64url', `${part({ alg: 'ES256' })}.${part({ exp: 1 })}+.c2ln`],
    ['a payload that is no JSON', `${part({ alg: 'ES256' })}.${Buffer.from('exp').toString('base64url')}.c2ln`],
    ['a payload that is an array', `${part({ alg: 'ES256' })}.${part([1])}.c2ln`],
    ['a payload that is null', `${part({ alg: 'ES256' })}.${part(null)}.c2ln`],
  ])('refuses %s', (_, token) => {
    expect(() => unverifiedClaims(token)).toThrow();
  });
});
