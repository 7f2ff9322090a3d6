import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestsEqual, hashSecret, newIdentifiedSecret, parseIdentifiedSecret } from './secret.js';

describe('identified secrets', () => {
  it('carry the id of their row and nothing else readable', () => {
    const id = '1b4e28ba-2fa1-4d2b-883f-0016d3cca427';
    const secret = newIdentifiedSecret('pgk', id);
    expect(secret).toMatch(/^pgk_1b4e28ba2fa14d2b883f0016d3cca427_[0-9a-f]{64}$/);
    expect(parseIdentifiedSecret('pgk', secret)).toEqual({ id });
  });

  it('refuse another prefix or a malformed secret', () => {
    const secret = newIdentifiedSecret('pgk', '1b4e28ba-2fa1-4d2b-883f-0016d3cca427');
    expect(parseIdentifiedSecret('pat', secret)).toBeNull();
    expect(parseIdentifiedSecret('pgk', `${secret}0`)).toBeNull();
  });

  it('compare digests only when both are present and equal', () => {
    expect(digestsEqual(hashSecret('a'), hashSecret('a'))).toBe(true);
    expect(digestsEqual(hashSecret('a'), hashSecret('b'))).toBe(false);
    expect(digestsEqual('', '')).toBe(false);
  });

  it('hash to the SHA-256 hex of their UTF-8 bytes, as every stored hash was made', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const text = 'pgk_ünïcødé_secret';
    expect(hashSecret(text)).toBe(createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex'));
  });
});
