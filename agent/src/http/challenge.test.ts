import { describe, expect, it } from 'vitest';
import { parseChallenge } from './challenge.js';

describe('parseChallenge', () => {
  it('reads the scheme and quoted or bare auth-params, names folded to lower case', () => {
    expect(parseChallenge('DPoP error="use_dpop_nonce", error_description="sign a new proof, with the nonce", algs="ES256"')).toEqual({
      scheme: 'DPoP',
      params: { error: 'use_dpop_nonce', error_description: 'sign a new proof, with the nonce', algs: 'ES256' },
    });
    expect(parseChallenge('Bearer Error=invalid_token')).toEqual({ scheme: 'Bearer', params: { error: 'invalid_token' } });
  });

  it('reads a bare challenge without parameters', () => {
    expect(parseChallenge('DPoP')).toEqual({ scheme: 'DPoP', params: {} });
    expect(parseChallenge('Bearer ')).toEqual({ scheme: 'Bearer', params: {} });
  });

  it('unescapes quoted-pairs', () => {
    expect(parseChallenge('DPoP error_description="a \\"quoted\\" word"')?.params.error_description).toBe('a "quoted" word');
  });

  it('gives null for what it cannot read for certain: nothing, several challenges, a repeated parameter, a dangling comma, token68', () => {
    for (const value of [null, undefined, '', 'Bearer error="a", Basic realm="b"', 'DPoP error="a", error="b"', 'DPoP error="a",', 'Negotiate abc==', 'DPoP error="unterminated']) {
      expect(parseChallenge(value)).toBeNull();
    }
  });
});
