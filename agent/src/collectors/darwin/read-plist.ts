import type { ProbeContext } from '../probe.js';
import { succeeded } from '../section.js';
import { parsePlist, type PlistValue } from './parse-plist.js';

export const plutilArgs = (path: string): string[] => ['-convert', 'xml1', '-o', '-', path];

/**
 * A property list file as XML, whichever form it is stored in (preferences are usually
 * binary): `plutil -convert xml1 -o - FILE`. null when it is missing or unreadable.
 */
export async function readPlistFile(ctx: ProbeContext, path: string): Promise<PlistValue | null> {
  const r = await ctx.exec('plutil', plutilArgs(path));
  return succeeded(r) ? parsePlist(r.stdout) : null;
}
