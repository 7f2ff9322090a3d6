import { parseEnvFile } from './parse-env-file.js';

/**
 * `ufw status verbose` (root; run with LC_ALL=C, ufw's messages are translated). Active
 * ufw filters inbound when its incoming default denies or rejects: deny rules under an
 * allowing default block a few ports and leave every other new connection open.
 */
export interface UfwReading {
  active: boolean;
  filtersInbound: boolean;
}

/** null for anything but a status report, e.g. the non-root "ERROR: You need to be root". */
export function parseUfwStatus(text: string): UfwReading | null {
  const status = /^Status:\s*(active|inactive)\s*$/m.exec(text)?.[1];
  if (!status) return null;
  if (status === 'inactive') return { active: false, filtersInbound: false };
  return { active: true, filtersInbound: /^Default:.*\b(deny|reject) \(incoming\)/m.test(text) };
}

/**
 * Unprivileged fallback: ufw's own switch (/etc/ufw/ufw.conf ENABLED=) and incoming
 * default (/etc/default/ufw DEFAULT_INPUT_POLICY=), both world-readable. true only when
 * ufw is switched on with a dropping default; null when that cannot be told.
 */
export function ufwConfigFiltersInbound(ufwConf: string | null, defaults: string | null): boolean | null {
  if (ufwConf === null || defaults === null) return null;
  const enabled = parseEnvFile(ufwConf).ENABLED?.toLowerCase();
  const policy = parseEnvFile(defaults).DEFAULT_INPUT_POLICY?.toUpperCase();
  if (enabled === 'yes' && (policy === 'DROP' || policy === 'REJECT')) return true;
  return null;
}
