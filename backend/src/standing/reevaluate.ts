import type { Kysely } from 'kysely';
import type { VerdictCause } from '../events/types.js';
import type { Database } from '../store/schema.js';
import { rejudgeDevices } from './rejudge.js';
import { selectedDeviceIds, type DeviceSelection } from './selection.js';
import type { PolicySource } from '../policy/types.js';

export interface ReevaluationReport {
  devices: number;
  changed: number;
  /** `from→to`: how many devices moved that way. */
  transitions: Record<string, number>;
  ms: number;
}

/**
 * Judges devices again at once, without waiting for a report: after a policy is applied or
 * rolled back. One transaction per page of devices; every verdict change is recorded (audit and
 * event) with `cause` and `reason` by the writer.
 */
export async function reevaluate(
  deps: { db: Kysely<Database>; policies: PolicySource; now(): number },
  selection: DeviceSelection,
  why: { cause: VerdictCause; actor: string; reason: string },
  options: { pageSize?: number } = {},
): Promise<ReevaluationReport> {
  const started = performance.now();
  const report: ReevaluationReport = { devices: 0, changed: 0, transitions: {}, ms: 0 };
  for await (const ids of selectedDeviceIds(deps.db, selection, options.pageSize)) {
    const recorded = await deps.db.transaction().execute((trx) => rejudgeDevices(trx, deps.policies, ids, { now: deps.now(), ...why }));
    report.devices += recorded.length;
    for (const { changed } of recorded) {
      if (!changed) continue;
      report.changed++;
      const key = `${changed.from}→${changed.to}`;
      report.transitions[key] = (report.transitions[key] ?? 0) + 1;
    }
  }
  report.ms = Math.round(performance.now() - started);
  return report;
}
