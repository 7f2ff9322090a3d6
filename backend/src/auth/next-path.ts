import { z } from 'zod';

const BASE = 'http://postern.invalid';

/**
 * Where to send a browser after it signs in: a path on this server only (`/devices?x=1`), never
 * another origin (`//evil.example`, `/\evil.example`, `https://…`), so a link cannot be turned into an open redirect.
 */
export function sameOriginPath(raw: string): string | null {
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || /[\u0000-\u001f\u007f]/.test(raw)) return null;
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return null;
  }
  if (url.origin !== BASE) return null;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Dot segments fold into a leading "//" (`/.//evil.example`): a browser reads that as another host.
  return path.startsWith('//') || path.startsWith('/\\') ? null : path;
}

export const nextPath = z
  .string()
  .max(2000)
  .transform((raw, ctx) => {
    const path = sameOriginPath(raw);
    if (path === null) {
      ctx.addIssue({ code: 'custom', message: 'next must be a path on this server, starting with a single "/"' });
      return z.NEVER;
    }
    return path;
  });
