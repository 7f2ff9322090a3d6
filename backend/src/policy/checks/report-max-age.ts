import { sectionWindowS } from '@postern/shared';
import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { duration } from '../duration-schema.js';

/** When a policy does not list `report.max_age`, reports older than this make a device `unknown` (re-exported by catalog.ts). */
export const DEFAULT_MAX_AGE_S = 15 * 60;

export const reportMaxAgeParams = z.strictObject({
  max_age: duration.refine((s) => s > 0, { error: 'max_age must be more than 0 (and at least report_interval), such as 15m' }).default(DEFAULT_MAX_AGE_S),
});

const SECTIONS = ['os', 'disk_encryption', 'firewall', 'patches', 'screen_lock', 'secure_boot', 'antivirus'] as const;
const FIX = {
  default: 'Keep the agent running (`postern-agent run`, installed as a service) and the device online, so it reports on schedule.',
  stale_sections: 'The agent sent facts it had collected long before: restart it (`postern-agent run`) and check its log for collectors that hang.',
};

/**
 * Freshness. The maximum age also sets when a device's verdict turns `unknown` for lack of a
 * new report (enforced at every read, whatever this check's enforcement); the check itself
 * fails a report whose sections were collected longer than `max_age` before it was signed.
 */
export const reportMaxAge: CatalogCheck<z.infer<typeof reportMaxAgeParams>> = {
  id: 'report.max_age',
  summary: 'the newest report is at most `max_age` old (older: the verdict is unknown), and every section in it is within its window (`max_age`, or longer for facts the agent reads less often)',
  section: 'report',
  params: reportMaxAgeParams,
  reasons: ['stale_sections'],
  evaluate(posture, { max_age }, context) {
    const stale: string[] = [];
    for (const name of SECTIONS) {
      const section = posture[name];
      // Each section within its own window: the agent reads slow facts (pending updates) less often.
      if (section && context.attestedAt - section.collected_at > sectionWindowS(name, max_age)) stale.push(`${name} (${context.attestedAt - section.collected_at} s old)`);
    }
    return stale.length > 0
      ? { status: 'fail', reason: 'stale_sections', message: `sections collected more than ${max_age} s before the report: ${stale.join(', ')}` }
      : { status: 'pass', message: `the report and its sections are fresh (at most ${max_age} s old)` };
  },
  remediation: { linux: FIX, darwin: FIX, win32: FIX },
};
