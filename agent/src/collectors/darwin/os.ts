import type { OsSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parsePlist, plistDict } from './parse-plist.js';
import { parseSwVers, parseSysctl, type MacVersion } from './parse-sw-vers.js';

export const SYSTEM_VERSION_PLIST = '/System/Library/CoreServices/SystemVersion.plist';
export const SYSCTL_ARGS = ['kern.osrelease', 'hw.optional.arm64'];

/**
 * macOS version from `sw_vers` (SystemVersion.plist when it fails). The architecture
 * is the machine's, not Node's: an x64 Node under Rosetta on Apple silicon still
 * reports arm64, since `hw.optional.arm64` is 1 there.
 */
export async function darwinOs(ctx: ProbeContext): Promise<OsSection> {
  const [swVers, sysctl] = await Promise.all([ctx.exec('sw_vers', []), ctx.exec('sysctl', SYSCTL_ARGS)]);
  let version = succeeded(swVers) ? parseSwVers(swVers.stdout) : null;
  if (!version) version = await fromSystemVersionPlist(ctx);
  if (!version) {
    return errorSection(ctx, succeeded(swVers) ? 'unrecognised sw_vers output' : execFailureReason('sw_vers', swVers));
  }
  // sysctl prints the names it knows even when another (hw.optional.arm64 on Intel) is unknown.
  const kernel = parseSysctl(sysctl.stdout);
  return okSection(ctx, {
    platform: 'darwin' as const,
    id: 'macos',
    name: version.productName,
    version: version.productVersion,
    build: version.buildVersion,
    kernel: kernel['kern.osrelease'] || ctx.kernel,
    arch: kernel['hw.optional.arm64'] === '1' ? 'arm64' : ctx.arch,
    ...(version.productVersionExtra ? { version_extra: version.productVersionExtra } : {}),
  });
}

async function fromSystemVersionPlist(ctx: ProbeContext): Promise<MacVersion | null> {
  const text = await ctx.readFile(SYSTEM_VERSION_PLIST);
  const dict = plistDict(text === null ? null : parsePlist(text));
  const version = dict?.ProductVersion;
  if (typeof version !== 'string' || !/^\d+(\.\d+)*$/.test(version)) return null;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  return {
    productName: str(dict?.ProductName) ?? 'macOS',
    productVersion: version,
    productVersionExtra: str(dict?.ProductVersionExtra),
    buildVersion: str(dict?.ProductBuildVersion),
  };
}
