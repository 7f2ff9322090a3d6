import { asList, asNumber, asRecord, asString, parseJson } from '../json.js';
import type { AntivirusProduct } from '../known-antivirus.js';

/**
 * A Security Center productState: bits 12–15 say whether real-time protection is on
 * (1; 0 off, 2 snoozed, 3 expired), bits 4–7 whether signatures are out of date (1)
 * or current (0), bits 8–11 who makes it (1: Microsoft).
 */
export function decodeProductState(state: number): { enabled: boolean; upToDate: boolean } {
  return { enabled: ((state >> 12) & 0xf) === 1, upToDate: ((state >> 4) & 0xf) === 0 };
}

/**
 * `Get-CimInstance -Namespace root/SecurityCenter2 -ClassName AntiVirusProduct` as
 * `{"antiVirus": [...]}` (client Windows only). null when it is not that JSON.
 */
export function parseSecurityCenterProducts(text: string): AntivirusProduct[] | null {
  const doc = asRecord(parseJson(text));
  if (!doc || !('antiVirus' in doc)) return null;
  const products: AntivirusProduct[] = [];
  for (const item of asList(doc.antiVirus)) {
    const p = asRecord(item);
    const name = asString(p?.displayName);
    const state = asNumber(p?.productState);
    if (!name || state === null) return null;
    const { enabled, upToDate } = decodeProductState(state);
    products.push({ name, enabled, up_to_date: upToDate });
  }
  return products;
}

/** WSC_SECURITY_PROVIDER_HEALTH: what Windows Security shows for a provider. */
export type WscHealth = 'good' | 'not_monitored' | 'poor' | 'snooze';
const HEALTH: readonly WscHealth[] = ['good', 'not_monitored', 'poor', 'snooze'];

/**
 * `WscGetSecurityProviderHealth` per provider, as `{"firewall":0,"antiVirus":0,…}`
 * (0 good, 1 not monitored, 2 poor, 3 snoozed). null when it is not that JSON.
 */
export function parseWscHealth(text: string): Record<string, WscHealth> | null {
  const doc = asRecord(parseJson(text));
  if (!doc) return null;
  const health: Record<string, WscHealth> = {};
  for (const [provider, value] of Object.entries(doc)) {
    const h = typeof value === 'number' ? HEALTH[value] : undefined;
    if (h) health[provider] = h;
  }
  return Object.keys(health).length > 0 ? health : null;
}

/**
 * `Get-MpComputerStatus | ConvertTo-Json`: Microsoft Defender only, and the only source
 * on Windows Server, which has no Security Center. Defender protects when its service
 * and real-time protection are on and it runs in Normal mode (a third-party antivirus
 * puts it in Passive mode). null when it is not that JSON.
 */
export function parseDefenderStatus(text: string): AntivirusProduct | null {
  const s = asRecord(parseJson(text));
  if (!s || typeof s.AMServiceEnabled !== 'boolean') return null;
  const enabled = s.AMServiceEnabled && s.AntivirusEnabled === true && s.RealTimeProtectionEnabled === true && (s.AMRunningMode ?? 'Normal') === 'Normal';
  const upToDate = typeof s.DefenderSignaturesOutOfDate === 'boolean' ? !s.DefenderSignaturesOutOfDate : null;
  return { name: 'Microsoft Defender Antivirus', enabled, up_to_date: upToDate };
}
