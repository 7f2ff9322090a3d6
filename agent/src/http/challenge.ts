/** One challenge of a `WWW-Authenticate` header: its scheme and auth-params (names in lower case). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const PARAM = new RegExp(`^\\s*(${TOKEN})\\s*=\\s*(?:(${TOKEN})|${QUOTED})\\s*(?:,|$)`);

/**
 * Parses a `WWW-Authenticate` value holding one challenge with auth-params, as Postern and
 * RFC 9449 §7.1 / RFC 6750 §3 servers send it: `DPoP error="use_dpop_nonce", algs="ES256"`.
 * Null for anything else (several challenges, token68, a repeated parameter), so a caller
 * never acts on a guess.
 *
 * @example
 * parseChallenge('DPoP error="invalid_dpop_proof", algs="ES256"')
 * // → { scheme: 'DPoP', params: { error: 'invalid_dpop_proof', algs: 'ES256' } }
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export function parseChallenge(value: string | null | undefined): Challenge | null {
  const head = new RegExp(`^\\s*(${TOKEN})(?:\\s+|$)`).exec(value ?? '');
  if (!head?.[1]) return null;
  const params: Record<string, string> = {};
  let rest = (value ?? '').slice(head[0].length);
  while (rest.trim() !== '') {
    const param = PARAM.exec(rest);
    if (!param?.[1]) return null;
    const name = param[1].toLowerCase();
    if (name in params) return null;
    params[name] = param[2] ?? (param[3] ?? '').replace(/\\(.)/g, '$1');
    rest = rest.slice(param[0].length);
    // A parameter followed by a comma must have another after it.
    if (param[0].trimEnd().endsWith(',') && rest.trim() === '') return null;
  }
  return { scheme: head[1], params };
}
