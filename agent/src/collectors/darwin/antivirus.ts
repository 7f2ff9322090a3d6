import type { AntivirusSection } from '@postern/shared';
import { runningAntivirus, runningProcessNames, type AntivirusProduct } from '../known-antivirus.js';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parsePlist, plistDict } from './parse-plist.js';

/** Where XProtect's bundle lives: macOS 10.15 and later, then older releases. */
export const XPROTECT_INFO_PLISTS = [
  '/Library/Apple/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist',
  '/System/Library/CoreServices/XProtect.bundle/Contents/Info.plist',
];

/** `spctl --status`: `assessments enabled` / `assessments disabled`. null for anything else. */
export function parseSpctlStatus(text: string): boolean | null {
  const m = /^assessments (enabled|disabled)\s*$/m.exec(text);
  return m ? m[1] === 'enabled' : null;
}

export const XPROTECT_UNKNOWN =
  "cannot read XProtect's Info.plist: whether XProtect is present is unknown; check that /Library/Apple/System/Library/CoreServices/XProtect.bundle is readable by the agent";

/**
 * macOS's built-in protection is XProtect (signature scanning, always on where its
 * bundle exists) working through Gatekeeper's assessments (`spctl --status`, no
 * root); a known third-party engine running counts too. Neither Apple component says
 * how fresh its signatures are, so `up_to_date` is null for both.
 *
 * "Not active" is only said from facts: when `ps` failed (a third-party engine may be
 * running) or XProtect's Info.plist could not be read (it may be there), the section
 * is an error instead, and an XProtect that cannot be confirmed is not listed.
 */
export async function darwinAntivirus(ctx: ProbeContext): Promise<AntivirusSection> {
  const [spctl, ps, ...plists] = await Promise.all([
    ctx.exec('spctl', ['--status']),
    ctx.exec('ps', ['-A', '-o', 'comm=']),
    ...XPROTECT_INFO_PLISTS.map((p) => ctx.readFile(p)),
  ]);
  const gatekeeper = parseSpctlStatus(`${spctl.stdout}\n${spctl.stderr}`);
  // readFile cannot tell a missing file from an unreadable one, so no bundle read is "unknown", not "absent".
  const xprotect = plists.some((text) => text !== null && plistDict(parsePlist(text)) !== null);
  const thirdParty = succeeded(ps) ? runningAntivirus(runningProcessNames(ps.stdout)) : [];
  if (gatekeeper === null && thirdParty.length === 0) {
    return errorSection(ctx, spctl.failure || spctl.code !== 0 ? execFailureReason('spctl', spctl) : 'unrecognised spctl --status output');
  }
  const products: AntivirusProduct[] = [
    ...(xprotect ? [{ name: 'XProtect', enabled: true, up_to_date: null }] : []),
    ...(gatekeeper === null ? [] : [{ name: 'Gatekeeper', enabled: gatekeeper, up_to_date: null }]),
    ...thirdParty,
  ];
  const builtIn = xprotect && gatekeeper === true;
  const active = builtIn || thirdParty.some((p) => p.enabled);
  if (!active) {
    if (!succeeded(ps)) return errorSection(ctx, `cannot tell whether an antivirus engine runs: ${execFailureReason('ps', ps)}`);
    if (!xprotect && gatekeeper === true) return errorSection(ctx, XPROTECT_UNKNOWN);
  }
  return okSection(ctx, { active, products });
}
