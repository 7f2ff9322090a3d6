import { z } from 'zod';

/** base64url without padding (RFC 7515 §2). */
export const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected base64url without padding');
/** A nonce: base64url of 32 random bytes. */
export const nonce = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'expected base64url of 32 bytes');
/** EAT UEID of type RAND: 0x01 then 16 random bytes, base64url (17 bytes → 23 chars). */
export const ueid = z.string().regex(/^[A-Za-z0-9_-]{23}$/, 'expected base64url of 17 bytes (UEID type RAND)');
/** Integer seconds since the epoch (JWT NumericDate). */
export const numericDate = z.number().int().nonnegative();
export const uuid = z.string().uuid();
/** A compact JWS: three base64url parts. Bounded so a frame cannot smuggle megabytes. */
export const compactJws = z
  .string()
  .max(60_000)
  .regex(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/, 'expected a compact JWS');

/** A NUL character, or a UTF-16 surrogate without its pair: text PostgreSQL refuses to store and many readers mangle. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const UNSTORABLE_TEXT = 'must not contain a NUL character or an unpaired UTF-16 surrogate';

export function isStorableText(value: string): boolean {
  return !UNSTORABLE.test(value);
}

/** Text from outside, at most `max` characters, that can be stored and shown: refused at the schema edge otherwise. */
export function text(max: number, min = 0) {
  return z.string().min(min).max(max).refine(isStorableText, UNSTORABLE_TEXT);
}

/**
 * Where in a parsed JSON value a string (or an object key) is unstorable, as a dotted path, or
 * null: for request bodies whose schemas take free text in many places.
 */
export function unstorableTextAt(value: unknown, path = ''): string | null {
  // A stack, not recursion: a body of 20,000 nested arrays parses as JSON and must not overflow the call stack.
  const pending: Array<[unknown, string]> = [[value, path]];
  while (pending.length > 0) {
    const [current, at] = pending.pop() as [unknown, string];
    if (typeof current === 'string') {
      if (!isStorableText(current)) return at || '(the value)';
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) pending.push([current[i], `${at}[${i}]`]);
    } else if (current !== null && typeof current === 'object') {
      const entries = Object.entries(current);
      for (const [key] of entries) if (!isStorableText(key)) return at ? `${at}.${key}` : key;
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, item] = entries[i] as [string, unknown];
        pending.push([item, at ? `${at}.${key}` : key]);
      }
    }
  }
  return null;
}
