import { sectionWindowS, type Platform, type Posture, type SectionName } from '@postern/shared';

export interface DoubtContext {
  /** `iat` of the report. */
  attestedAt: number;
  /** The policy's `report.max_age`. */
  maxAgeS: number;
  /** The platform the device enrolled with, when known. */
  enrolledPlatform: Platform | null;
}

/**
 * The posture as the checks may trust it: a section whose facts are older than its window
 * (`sectionWindowS`) is read as unreadable, and when the report says it comes from another
 * platform than the device enrolled as, every section is. A check that reads such a section is
 * `unknown` with the reason in its message — never passing on doubtful facts.
 */
export function withoutDoubtfulFacts(posture: Posture, context: DoubtContext): Posture {
  const os = posture.os;
  const otherPlatform = os.status === 'ok' && context.enrolledPlatform !== null && os.platform !== context.enrolledPlatform ? os.platform : null;
  let result: Posture | null = null;
  for (const name of Object.keys(posture) as SectionName[]) {
    const section = posture[name];
    if (!section) continue;
    let doubt: string | null = null;
    if (otherPlatform) doubt = `the report says it comes from ${otherPlatform}, but this device enrolled as ${context.enrolledPlatform}: its facts are not trusted`;
    else if (section.status === 'ok' && context.attestedAt - section.collected_at > sectionWindowS(name, context.maxAgeS)) {
      doubt = `these facts were collected ${context.attestedAt - section.collected_at} s before the report, longer than the ${sectionWindowS(name, context.maxAgeS)} s they may be trusted`;
    }
    if (!doubt) continue;
    result ??= { ...posture };
    (result as Record<SectionName, unknown>)[name] = { status: 'error', collected_at: section.collected_at, error: doubt };
  }
  return result ?? posture;
}
