import type { FirewallSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { MDMCLIENT } from './filevault.js';
import { parseMdmclientSecurityInfo } from './parse-mdmclient.js';
import { plistDict } from './parse-plist.js';
import { parseAlfGlobalState, type AlfState } from './parse-socketfilterfw.js';
import { readPlistFile } from './read-plist.js';

export const SOCKETFILTERFW = '/usr/libexec/ApplicationFirewall/socketfilterfw';
export const ALF_PLIST = '/Library/Preferences/com.apple.alf.plist';

/** macOS 15 stopped keeping the alf preference file current: its value may be stale there. */
async function macOsMajor(ctx: ProbeContext): Promise<number> {
  const r = await ctx.exec('sw_vers', ['-productVersion']);
  const major = succeeded(r) ? Number(/^(\d+)\./.exec(r.stdout.trim())?.[1]) : NaN;
  return Number.isInteger(major) ? major : Infinity;
}

/**
 * The macOS application firewall. State 1 (on) and 2 (block all incoming) both filter.
 * socketfilterfw answers without root; the alf preference file (before macOS 15 only) and,
 * as root, mdmclient are read when it cannot.
 */
export async function darwinFirewall(ctx: ProbeContext): Promise<FirewallSection> {
  const r = await ctx.exec(SOCKETFILTERFW, ['--getglobalstate']);
  let state: AlfState | null = succeeded(r) ? parseAlfGlobalState(r.stdout) : null;
  if (state === null && (await macOsMajor(ctx)) < 15) {
    const globalstate = plistDict(await readPlistFile(ctx, ALF_PLIST))?.globalstate;
    if (globalstate === 0 || globalstate === 1 || globalstate === 2) state = globalstate;
  }
  if (state === null && ctx.isPrivileged) {
    const mdm = await ctx.exec(MDMCLIENT, ['QuerySecurityInfo']);
    const info = succeeded(mdm) ? parseMdmclientSecurityInfo(mdm.stdout) : null;
    if (info?.firewallEnabled === false) state = 0;
    else if (info?.firewallEnabled === true) state = info.blockAllIncoming ? 2 : 1;
  }
  if (state === null) {
    return errorSection(ctx, succeeded(r) ? `unrecognised socketfilterfw output: ${r.stdout.trim().slice(0, 80)}` : execFailureReason('socketfilterfw', r));
  }
  return okSection(ctx, { enabled: state >= 1, backend: 'alf' as const, profiles: [] });
}
