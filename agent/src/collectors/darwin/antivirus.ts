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

/**
 * macOS's built-in protection is XProtect (signature scanning, always on where its
 * bundle exists) working through Gatekeeper's assessments (`spctl --status`, no
 * root); a known third-party engine running counts too. Neither Apple component says
 * how fresh its signatures are, so `up_to_date` is null for both.
 */
export async function darwinAntivirus(ctx: ProbeContext): Promise<AntivirusSection> {
  const [spctl, ps, ...plists] = await Promise.all([
    ctx.exec('spctl', ['--status']),
    ctx.exec('ps', ['-A', '-o', 'comm=']),
    ...XPROTECT_INFO_PLISTS.map((p) => ctx.readFile(p)),
  ]);
  const gatekeeper = parseSpctlStatus(`${spctl.stdout}\n${spctl.stderr}`);
  const xprotect = plists.some((text) => text !== null && plistDict(parsePlist(text)) !== null);
  const thirdParty = succeeded(ps) ? runningAntivirus(runningProcessNames(ps.stdout)) : [];
  if (gatekeeper === null && thirdParty.length === 0) {
    return errorSection(ctx, spctl.failure || spctl.code !== 0 ? execFailureReason('spctl', spctl) : 'unrecognised spctl --status output');
  }
  const products: AntivirusProduct[] = [
    { name: 'XProtect', enabled: xprotect, up_to_date: null },
    ...(gatekeeper === null ? [] : [{ name: 'Gatekeeper', enabled: gatekeeper, up_to_date: null }]),
    ...thirdParty,
  ];
  const builtIn = xprotect && gatekeeper === true;
  return okSection(ctx, { active: builtIn || thirdParty.some((p) => p.enabled), products });
}
