import { describe, expect, it } from 'vitest';
import { canonicalJson, entryHash, GENESIS_HASH } from './audit-chain.js';

describe('the audit chain', () => {
  it('serializes content canonically: keys sorted at every depth, no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { y: 1, x: 2 }], c: 'é' } })).toBe('{"a":{"c":"é","d":[3,{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson({ a: undefined, b: null })).toBe('{"b":null}');
  });

  it('hashes the same content to the same hash whatever the key order, and any change to another hash', () => {
    const entry = { id: 7, at: new Date('2026-05-01T18:00:00.123Z'), actor: 'admin:initial', kind: 'policy.applied', device_id: null, detail: { group: 'contractors', version: 2 }, prev_hash: GENESIS_HASH };
    const hash = entryHash(entry);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(entryHash({ ...entry, detail: { version: 2, group: 'contractors' } })).toBe(hash);
    for (const changed of [{ id: 8 }, { at: new Date('2026-05-01T18:00:00.124Z') }, { actor: 'admin:other' }, { detail: { group: 'employees', version: 2 } }, { prev_hash: 'f'.repeat(64) }, { device_id: '00000000-0000-4000-8000-000000000000' }]) {
      expect(entryHash({ ...entry, ...changed })).not.toBe(hash);
    }
  });
});
