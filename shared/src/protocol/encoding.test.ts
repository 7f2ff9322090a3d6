import { describe, expect, it } from 'vitest';
import { unstorableTextAt } from './encoding.js';

describe('unstorableTextAt', () => {
  it('names the first place holding a NUL or an unpaired surrogate, in keys too', () => {
    expect(unstorableTextAt({ a: 'ok', b: ['x', 'bad\u0000'] })).toBe('b[1]');
    expect(unstorableTextAt({ ['k\ud800']: 1 })).toBe('k\ud800');
    expect(unstorableTextAt('\u0000')).toBe('(the value)');
    expect(unstorableTextAt({ a: [1, null, true, { b: 'fine' }] })).toBeNull();
  });

  it('walks a body nested far deeper than the call stack allows without failing', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}"x\\u0000"${']'.repeat(20_000)}`) as unknown;
    expect(unstorableTextAt(deep)).toMatch(/^(\[0\]){20000}$/);
    expect(unstorableTextAt(JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`))).toBeNull();
  });
});
