import { platform as platformSchema, posture as postureSchema, type CheckResult, type Platform, type Verdict } from '@postern/shared';
import type { Kysely } from 'kysely';
import { appendAudit } from '../audit/append.js';
import { checksOf, toSeconds } from '../devices/repository.js';
import { activeExceptions } from '../exceptions/active.js';
import { evaluatePosture, failingIds, policyRef, verdictAt, type ActiveException } from './evaluate.js';
import type { PolicyCache } from './policy-cache.js';
import type { Policy } from './types.js';
import type { Database, DevicePosture, DeviceStatus } from '../store/schema.js';
import { DEFAULT_SLOT } from './default-policy.js';

export const REEVALUATION_BATCH = 500;

/** A device with its latest posture, as re-evaluation reads it. */
export interface StoredDevice {
  device_id: string;
  hostname: string;
  group_name: string;
  status: DeviceStatus;
  expires_at: Date | null;
  agent_version: string;
  /** The platform the device enrolled with (`devices.platform`); null if the column holds anything else. */
  platform: Platform | null;
  posture_row: DevicePosture;
}

export interface Judgement {
  checks: CheckResult[];
  score: number;
  verdict: Verdict;
}

/** Judges a device's latest stored posture with a policy, keeping when each failure started. Null if the stored posture is unreadable. */
export function judgeStored(policy: Policy, device: StoredDevice, exceptions: readonly ActiveException[], now: number): Judgement | null {
  const parsed = postureSchema.safeParse(device.posture_row.posture);
  if (!parsed.success) return null;
  const attestedAt = toSeconds(device.posture_row.attested_at) ?? now;
  const { checks, score } = evaluatePosture(policy, parsed.data, { now, previous: checksOf(device.posture_row), attestedAt, agentVersion: device.agent_version, exceptions, enrolledPlatform: device.platform });
  const verdict = verdictAt(policy, { status: device.status, expires_at: toSeconds(device.expires_at) }, { attested_at: attestedAt, checks }, now);
  return { checks, score, verdict };
}

/** A `devices.platform` value as a platform the evaluator knows, else null. */
export function enrolledPlatform(value: string | null | undefined): Platform | null {
  const parsed = platformSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** Which devices a slot's policy judges: its group, or for `default` every group without its own. */
export type DeviceSelection = { slot: string; ownGroups: readonly string[] } | { deviceIds: readonly string[] };

/** Devices with a stored posture, in pages ordered by id, so a fleet of 100k never sits in memory at once. */
export async function* storedDevices(db: Kysely<Database>, selection: DeviceSelection, batchSize = REEVALUATION_BATCH): AsyncGenerator<StoredDevice[]> {
  let after: string | null = null;
  for (;;) {
    let query = db
      .selectFrom('devices')
      .innerJoin('device_posture', 'device_posture.device_id', 'devices.id')
      .selectAll('device_posture')
      .select(['devices.hostname', 'devices.group_name', 'devices.status', 'devices.expires_at', 'devices.agent_version', 'devices.platform'])
      .orderBy('devices.id')
      .limit(batchSize);
    if ('deviceIds' in selection) {
      if (selection.deviceIds.length === 0) return;
      query = query.where('devices.id', 'in', selection.deviceIds);
    } else if (selection.slot === DEFAULT_SLOT) {
      if (selection.ownGroups.length > 0) query = query.where('devices.group_name', 'not in', selection.ownGroups);
    } else {
      query = query.where('devices.group_name', '=', selection.slot);
    }
    if (after !== null) query = query.where('devices.id', '>', after);
    const rows = await query.execute();
    if (rows.length === 0) return;
    yield rows.map((r) => {
      const { hostname, group_name, status, expires_at, agent_version, platform, ...posture_row } = r;
      return { device_id: r.device_id, hostname, group_name, status, expires_at, agent_version, platform: enrolledPlatform(platform), posture_row };
    });
    after = rows[rows.length - 1]?.device_id ?? null;
    if (rows.length < batchSize) return;
  }
}

export interface ReevaluationReport {
  devices: number;
  changed: number;
  /** `from→to`: how many devices moved that way. */
  transitions: Record<string, number>;
  /** Devices whose stored posture changed while this ran (a new report won; it was judged by the policy in force). */
  skipped: number;
  ms: number;
}

/**
 * Judges devices again from their latest stored posture, at once, without waiting for a report:
 * after a policy is applied, a device changes group, or an exception starts or ends. Each batch
 * is one transaction: the rows are updated (unless a newer report landed meanwhile), then every
 * verdict change is appended to the audit log with `reason`.
 */
export async function reevaluate(
  deps: { db: Kysely<Database>; policies: PolicyCache; now(): number },
  selection: DeviceSelection,
  reason: string,
  options: { batchSize?: number } = {},
): Promise<ReevaluationReport> {
  const started = performance.now();
  const report: ReevaluationReport = { devices: 0, changed: 0, transitions: {}, skipped: 0, ms: 0 };
  for await (const batch of storedDevices(deps.db, selection, options.batchSize)) {
    const now = deps.now();
    const exceptions = await activeExceptions(deps.db, batch.map((d) => d.device_id), now);
    await deps.db.transaction().execute(async (trx) => {
      const changes: Array<{ device: StoredDevice; from: Verdict; judgement: Judgement; policy: string }> = [];
      for (const device of batch) {
        const policy = deps.policies.forGroup(device.group_name);
        const judgement = judgeStored(policy, device, exceptions.get(device.device_id) ?? [], now);
        if (!judgement) continue;
        const ref = policyRef(policy);
        const updated = await trx
          .updateTable('device_posture')
          .set({ verdict: judgement.verdict, score: judgement.score, checks: JSON.stringify(judgement.checks), policy_id: ref, evaluated_at: new Date(now * 1000) })
          .where('device_id', '=', device.device_id)
          .where('seq', '=', device.posture_row.seq)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) {
          report.skipped++;
          continue;
        }
        report.devices++;
        const from = device.posture_row.verdict as Verdict;
        if (from !== judgement.verdict) changes.push({ device, from, judgement, policy: ref });
      }
      // Audit last: the chain lock is the last lock this transaction takes (see audit/append.ts).
      for (const change of changes) {
        const key = `${change.from}→${change.judgement.verdict}`;
        report.transitions[key] = (report.transitions[key] ?? 0) + 1;
        report.changed++;
        await appendAudit(trx, {
          actor: 'postern',
          kind: 'device.verdict_changed',
          deviceId: change.device.device_id,
          detail: { from: change.from, to: change.judgement.verdict, score: change.judgement.score, failing: failingIds(change.judgement.checks), policy: change.policy, reason },
        });
      }
    });
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}

/** Moved to evaluate.ts; re-exported for callers that still import it from here. */
export { failingIds };
