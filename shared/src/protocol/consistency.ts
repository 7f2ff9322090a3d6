import type { z } from 'zod';
import type { Posture, SectionName } from './posture.js';

/**
 * How often the agent reads each section at the least (its slowest cache), in seconds. Facts
 * older than this, or than the policy's `report.max_age` if that is longer, are doubtful: the
 * backend judges a check that reads them as unknown, never as passing.
 */
export const SECTION_REFRESH_S: Record<SectionName, number> = {
  os: 2 * 3600,
  disk_encryption: 0,
  firewall: 0,
  patches: 6 * 3600,
  screen_lock: 0,
  secure_boot: 2 * 3600,
  antivirus: 0,
};

/** How old a section's facts may be when the report is signed. */
export function sectionWindowS(name: SectionName, maxAgeS: number): number {
  return Math.max(maxAgeS, SECTION_REFRESH_S[name]);
}

/** A device's clock may run this far ahead of the time it signs in `iat`: facts from later cannot be true. */
export const FUTURE_SKEW_S = 300;
/** Earlier than this, a time in a report is a broken clock or a made-up value (2020-01-01). */
export const EARLIEST_PLAUSIBLE_S = 1_577_836_800;

type Issue = { path: Array<string | number>; message: string };

/**
 * What a posture cannot say and be true: a firewall that is on with no firewall, or on while every
 * profile is off; a volume that is encrypted while its encryption is part-done or only the
 * hardware's; two system volumes. Such a report is refused (`schema`): better no answer than a
 * compliant one built on a contradiction.
 */
export function postureContradictions(p: Posture): Issue[] {
  const issues: Issue[] = [];
  const fw = p.firewall;
  if (fw.status === 'ok' && fw.enabled) {
    if (fw.backend === 'none') issues.push({ path: ['firewall', 'backend'], message: 'a firewall cannot be enabled with no firewall backend ("none")' });
    if (fw.profiles.length > 0 && fw.profiles.every((profile) => !profile.enabled)) issues.push({ path: ['firewall', 'enabled'], message: 'a firewall cannot be enabled while every one of its profiles is off' });
  }
  const disk = p.disk_encryption;
  if (disk.status === 'ok') {
    disk.volumes.forEach((v, i) => {
      if (v.encrypted && v.progress !== undefined && v.progress < 100) issues.push({ path: ['disk_encryption', 'volumes', i, 'progress'], message: `a volume cannot be encrypted while its conversion is ${v.progress}% done` });
      if (v.encrypted && v.detail === 'hardware_only') issues.push({ path: ['disk_encryption', 'volumes', i, 'detail'], message: 'a volume encrypted only by its hardware is not encrypted: report encrypted false' });
    });
    if (disk.volumes.filter((v) => v.system).length > 1) issues.push({ path: ['disk_encryption', 'volumes'], message: 'a device has one system volume, not several' });
  }
  return issues;
}

/** Times in a report that cannot be true for a report signed at `iat`: facts collected before 2020 or after it was signed. */
export function implausibleTimes(p: Posture, iat: number): Issue[] {
  const issues: Issue[] = [];
  const check = (value: number | null | undefined, path: Array<string | number>, what: string) => {
    if (value === null || value === undefined) return;
    if (value < EARLIEST_PLAUSIBLE_S) issues.push({ path, message: `${what} (${value}) is before 2020: the device's clock or the report is wrong` });
    else if (value > iat + FUTURE_SKEW_S) issues.push({ path, message: `${what} (${value}) is after the report was signed (iat ${iat}): the device's clock or the report is wrong` });
  };
  for (const [name, section] of Object.entries(p) as Array<[SectionName, Posture[SectionName]]>) {
    if (section) check(section.collected_at, [name, 'collected_at'], `${name}.collected_at`);
  }
  if (p.patches.status === 'ok') {
    check(p.patches.last_installed_at, ['patches', 'last_installed_at'], 'patches.last_installed_at');
    check(p.patches.checked_at, ['patches', 'checked_at'], 'patches.checked_at');
  }
  return issues;
}

/** Adds issues to a zod refinement context, under `prefix`. */
export function report(ctx: z.RefinementCtx, issues: readonly Issue[], prefix: Array<string | number> = []): void {
  for (const issue of issues) ctx.addIssue({ code: 'custom', path: [...prefix, ...issue.path], message: issue.message });
}
