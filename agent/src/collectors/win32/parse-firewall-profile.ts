import { asList, asRecord, asString, enumValue, parseJson } from '../json.js';
import { textLines } from '../text.js';

/** One Windows Defender Firewall profile. */
export interface FirewallProfile {
  name: 'Domain' | 'Private' | 'Public';
  /** The profile is on and its default for inbound traffic is not "allow". */
  filtersInbound: boolean;
}

export const PROFILE_NAMES = ['Domain', 'Private', 'Public'] as const;
/** GpoBoolean: 0 False, 1 True, 2 NotConfigured (Windows' default for Enabled: on). */
const GPO_BOOLEAN = ['False', 'True', 'NotConfigured'] as const;
/** Action: 0 NotConfigured (default: block), 2 Allow, 4 Block. */
const ACTION = ['NotConfigured', '', 'Allow', '', 'Block'] as const;

function profileName(value: string | null): FirewallProfile['name'] | null {
  const v = (value ?? '').toLowerCase();
  return PROFILE_NAMES.find((p) => p.toLowerCase() === v) ?? null;
}

/**
 * `Get-NetFirewallProfile -PolicyStore ActiveStore | ConvertTo-Json` (no admin): the
 * effective settings, group policy included. Property names and enum numbers are the
 * same in every language. Only JSON is read. null when it is not that JSON.
 */
export function parseFirewallProfileJson(text: string): FirewallProfile[] | null {
  const doc = parseJson(text);
  if (doc === undefined) return null;
  const profiles: FirewallProfile[] = [];
  for (const item of asList(doc)) {
    const p = asRecord(item);
    const name = profileName(asString(p?.Name) ?? asString(p?.Profile));
    const enabled = enumValue(p?.Enabled, GPO_BOOLEAN) ?? (typeof p?.Enabled === 'boolean' ? Number(p.Enabled) : null);
    if (!p || !name || enabled === null) return null;
    const inbound = enumValue(p.DefaultInboundAction, ACTION);
    profiles.push({ name, filtersInbound: enabled !== 0 && inbound !== 2 });
  }
  return profiles;
}

/*
 * `netsh advfirewall show allprofiles state` is translated: section titles ("Domain
 * Profile Settings:", "Domänenprofil-Einstellungen:", "Paramètres Profil de domaine :")
 * and the state word (ON/OFF, EIN/AUS, Actif/Inactif, ACTIVADO/DESACTIVADO). Read only
 * when PowerShell cannot run.
 */
const TITLES: Array<[RegExp, FirewallProfile['name']]> = [
  [/dom.ne|domain|dominio/, 'Domain'],
  [/priv/, 'Private'],
  [/public|.ffentlich|p.blico/, 'Public'],
];
const STATE_LABEL = /^(state|status|.tat|estado|stato|состояние)\s+(\S+)$/u;
const ON = /^(on|ein|actif|activ[oa]|activad[oa]|attivo|aan|вкл)$/u;
const OFF = /^(off|aus|inactif|inactiv[oa]|desactivad[oa]|disattivo|uit|выкл)$/u;

/** Lower case without accents; unlike foldText, other scripts (Cyrillic) are kept. */
function norm(line: string): string {
  return line.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** null when no profile with a recognised state is found, or a state word is not recognised. */
export function parseNetshFirewallState(text: string): FirewallProfile[] | null {
  const profiles: FirewallProfile[] = [];
  let current: FirewallProfile['name'] | null = null;
  for (const raw of textLines(text)) {
    const line = norm(raw);
    if (!line || /^-+$/.test(line)) continue;
    const state = STATE_LABEL.exec(line);
    if (state) {
      if (!current) continue;
      const word = state[2]!;
      if (ON.test(word)) profiles.push({ name: current, filtersInbound: true });
      else if (OFF.test(word)) profiles.push({ name: current, filtersInbound: false });
      else return null;
      current = null;
    } else if (line.endsWith(':')) {
      current = TITLES.find(([pattern]) => pattern.test(line))?.[1] ?? null;
    }
  }
  return profiles.length > 0 ? profiles : null;
}
