import type { OsSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, okSection } from '../section.js';
import { parseEnvFile } from './parse-env-file.js';

/** /etc/os-release is the admin's override; /usr/lib/os-release is the vendor's copy. */
const OS_RELEASE_PATHS = ['/etc/os-release', '/usr/lib/os-release'];
/** Older and minimal systems without os-release may still carry lsb-release. */
const LSB_RELEASE = '/etc/lsb-release';

export async function linuxOs(ctx: ProbeContext): Promise<OsSection> {
  let text: string | null = null;
  for (const path of OS_RELEASE_PATHS) {
    text = await ctx.readFile(path);
    if (text !== null) break;
  }
  if (text === null) return lsbOs(ctx);
  const f = parseEnvFile(text);
  const build = f.BUILD_ID || null;
  return okSection(ctx, {
    platform: 'linux' as const,
    // Defaults are the ones os-release(5) prescribes for missing keys.
    id: f.ID || 'linux',
    name: f.NAME || 'Linux',
    // Rolling and testing releases (Arch, Debian testing) have no VERSION_ID.
    version: f.VERSION_ID || build || 'rolling',
    build,
    kernel: ctx.kernel,
    arch: ctx.arch,
  });
}

/**
 * lsb-release names the distribution (`DISTRIB_ID=Ubuntu`) where os-release has an ID
 * (`ubuntu`); lower-cased it is the same identifier for the distributions that ship it.
 */
async function lsbOs(ctx: ProbeContext): Promise<OsSection> {
  const text = await ctx.readFile(LSB_RELEASE);
  const f = text === null ? {} : parseEnvFile(text);
  if (!f.DISTRIB_ID) return errorSection(ctx, 'cannot read /etc/os-release, /usr/lib/os-release or /etc/lsb-release');
  return okSection(ctx, {
    platform: 'linux' as const,
    id: f.DISTRIB_ID.toLowerCase(),
    name: f.DISTRIB_ID,
    version: f.DISTRIB_RELEASE || 'rolling',
    build: null,
    kernel: ctx.kernel,
    arch: ctx.arch,
  });
}
