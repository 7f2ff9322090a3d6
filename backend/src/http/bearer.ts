import type { Context } from 'koa';

/** The credential after `Authorization: <scheme> `, or null. Scheme names are case-insensitive (RFC 9110 §11.1). */
export function credentialOf(ctx: Context, scheme: string): string | null {
  const header = ctx.get('authorization');
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== scheme.toLowerCase()) return null;
  const value = header.slice(space + 1).trim();
  return value.length > 0 && value.length <= 8192 ? value : null;
}
