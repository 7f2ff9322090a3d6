import type { AntivirusSection } from '@postern/shared';
import { runningAntivirus, runningProcessNames } from '../known-antivirus.js';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';

/**
 * Linux has no registry of security products: known anti-malware engines are found by
 * their running processes (ClamAV's clamd, with freshclam keeping signatures current).
 * None running is a fact (`active: false`), not an error.
 */
export async function linuxAntivirus(ctx: ProbeContext): Promise<AntivirusSection> {
  const ps = await ctx.exec('ps', ['-A', '-o', 'comm=']);
  if (!succeeded(ps)) return errorSection(ctx, execFailureReason('ps', ps));
  const products = runningAntivirus(runningProcessNames(ps.stdout));
  return okSection(ctx, { active: products.some((p) => p.enabled), products });
}
