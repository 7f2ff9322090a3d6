import type { CheckResult, Verdict } from '@postern/shared';
import type { Kysely } from 'kysely';
import { activeExceptions } from '../standing/active-exceptions.js';
import { judge } from '../standing/judge.js';
import { selectedDeviceIds, type DeviceSelection } from '../standing/selection.js';
import { checksOf, enrolledPlatform, postureOf, toSeconds, verdictOf } from '../store/rows.js';
import type { Database } from '../store/schema.js';
import { policyRef } from '../policy/evaluate.js';
import type { PolicyCache } from './policy-cache.js';
import type { Policy } from '../policy/types.js';

type Status = CheckResult['status'] | 'absent';

export interface DeviceDiff {
  device_id: string;
  hostname: string;
  group: string;
  from: Verdict;
  to: Verdict;
  score_from: number;
  score_to: number;
  /** Checks whose status differs between the two policies, with the new message. */
  checks: Array<{ id: string; from: Status; to: Status; message: string }>;
}

export interface DiffReport {
  group: string;
  /** Policy references that judge these devices now. */
  policy_from: string[];
  policy_to: string;
  devices: number;
  changed: number;
  unchanged: number;
  transitions: Record<string, number>;
  /** Devices whose verdict changes, then devices whose checks change with the same verdict; at most `limit`. */
  differences: DeviceDiff[];
  truncated: boolean;
}

/**
 * A dry run: judges every device the new policy would judge, from its latest stored posture, with
 * the one judge, and compares with its standing now. Writes nothing. Reads the fleet in pages.
 */
export async function diffPolicy(
  deps: { db: Kysely<Database>; policies: PolicyCache; now(): number },
  candidate: Policy,
  options: { limit?: number; batchSize?: number } = {},
): Promise<DiffReport> {
  const limit = options.limit ?? 1000;
  const now = deps.now();
  const selection: DeviceSelection = { slot: candidate.id, ownGroups: deps.policies.slots().filter((s) => deps.policies.hasOwn(s)) };
  const report: DiffReport = { group: candidate.id, policy_from: [], policy_to: policyRef(candidate), devices: 0, changed: 0, unchanged: 0, transitions: {}, differences: [], truncated: false };
  const fromRefs = new Set<string>();
  const verdictChanges: DeviceDiff[] = [];
  const checkChanges: DeviceDiff[] = [];
  for await (const ids of selectedDeviceIds(deps.db, selection, options.batchSize)) {
    const [rows, exceptions] = await Promise.all([
      deps.db
        .selectFrom('devices')
        .innerJoin('device_standing', 'device_standing.device_id', 'devices.id')
        .leftJoin('device_posture', 'device_posture.device_id', 'devices.id')
        .select(['devices.id', 'devices.hostname', 'devices.group_name', 'devices.status', 'devices.expires_at', 'devices.platform', 'devices.agent_version'])
        .select(['device_standing.verdict', 'device_standing.score', 'device_standing.checks', 'device_standing.policy_id', 'device_posture.posture', 'device_posture.attested_at'])
        .where('devices.id', 'in', ids)
        .orderBy('devices.id')
        .execute(),
      activeExceptions(deps.db, ids, now),
    ]);
    for (const row of rows) {
      const posture = postureOf(row);
      // A device that never reported has nothing a policy could judge differently.
      if (!posture || !row.attested_at) continue;
      const storedChecks = checksOf(row);
      const next = judge({
        policy: candidate,
        device: { status: row.status, expires_at: toSeconds(row.expires_at), platform: enrolledPlatform(row.platform), agentVersion: row.agent_version },
        latest: { posture, attestedAt: toSeconds(row.attested_at) ?? now },
        previous: storedChecks,
        exceptions: exceptions.get(row.id) ?? [],
        now,
      });
      report.devices++;
      fromRefs.add(row.policy_id);
      const from = verdictOf(row.verdict);
      const checks = compareChecks(storedChecks, next.checks);
      if (from === next.verdict && checks.length === 0) {
        report.unchanged++;
        continue;
      }
      const diff: DeviceDiff = { device_id: row.id, hostname: row.hostname, group: row.group_name, from, to: next.verdict, score_from: row.score, score_to: next.score, checks };
      if (from !== next.verdict) {
        report.changed++;
        const key = `${from}→${next.verdict}`;
        report.transitions[key] = (report.transitions[key] ?? 0) + 1;
        if (verdictChanges.length < limit) verdictChanges.push(diff);
        else report.truncated = true;
      } else {
        report.unchanged++;
        if (checkChanges.length < limit) checkChanges.push(diff);
        else report.truncated = true;
      }
    }
  }
  report.policy_from = [...fromRefs].sort();
  report.differences = [...verdictChanges, ...checkChanges].slice(0, limit);
  if (verdictChanges.length + checkChanges.length > limit) report.truncated = true;
  return report;
}

function compareChecks(before: readonly CheckResult[], after: readonly CheckResult[]): DeviceDiff['checks'] {
  const out: DeviceDiff['checks'] = [];
  for (const check of after) {
    const old = before.find((c) => c.id === check.id);
    if (old?.status !== check.status) out.push({ id: check.id, from: old?.status ?? 'absent', to: check.status, message: check.message });
  }
  for (const old of before) if (!after.some((c) => c.id === old.id)) out.push({ id: old.id, from: old.status, to: 'absent', message: 'not in the new policy' });
  return out;
}
