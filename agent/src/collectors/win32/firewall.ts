import type { FirewallSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection } from '../section.js';
import { parseFirewallProfileJson, parseNetshFirewallState, PROFILE_NAMES, type FirewallProfile } from './parse-firewall-profile.js';
import { powershellErrorReason, runPowerShell } from './powershell.js';

export const FIREWALL_PROFILE_SCRIPT =
  'ConvertTo-Json -InputObject @(Get-NetFirewallProfile -PolicyStore ActiveStore | Select-Object Name, Enabled, DefaultInboundAction)';
export const NETSH_ARGS = ['advfirewall', 'show', 'allprofiles', 'state'];

/**
 * Windows Defender Firewall, per profile (Domain, Private, Public): the effective
 * settings from Get-NetFirewallProfile's active store, which includes group policy
 * (netsh, translated, only when PowerShell cannot run). A profile counts as on when
 * it is enabled and does not allow inbound traffic by default.
 *
 * `enabled`: some profile filters (so one profile off reads as "profile off", not "no
 * firewall"); every profile is listed with its own state. A profile missing from the
 * answer leaves the section unknown when the others are on, because "on everywhere"
 * cannot be claimed for it.
 */
export async function windowsFirewall(ctx: ProbeContext): Promise<FirewallSection> {
  const ps = await runPowerShell(ctx, FIREWALL_PROFILE_SCRIPT);
  let profiles: FirewallProfile[] | null = null;
  let why: string;
  if (ps.kind === 'output') {
    profiles = parseFirewallProfileJson(ps.stdout);
    why = `unrecognised Get-NetFirewallProfile output: ${ps.stdout.trim().slice(0, 60)}`;
  } else if (ps.kind === 'error') {
    why = powershellErrorReason('Get-NetFirewallProfile', ps.error);
  } else {
    const netsh = await ctx.exec('netsh', NETSH_ARGS);
    profiles = netsh.failure || netsh.code !== 0 ? null : parseNetshFirewallState(netsh.stdout);
    why = netsh.failure || netsh.code !== 0 ? `${ps.reason}; ${execFailureReason('netsh', netsh)}` : 'unrecognised netsh advfirewall output';
  }
  if (!profiles) return errorSection(ctx, why);

  const reported = PROFILE_NAMES.flatMap((name) => {
    const p = profiles.find((x) => x.name === name);
    return p ? [{ name, enabled: p.filtersInbound }] : [];
  });
  const anyOff = reported.some((p) => !p.enabled);
  const missing = PROFILE_NAMES.filter((name) => !reported.some((p) => p.name === name));
  if (!anyOff && missing.length > 0) return errorSection(ctx, `the firewall state of the ${missing.join(' and ')} profile${missing.length > 1 ? 's' : ''} was not reported`);
  return okSection(ctx, { enabled: reported.some((p) => p.enabled), backend: 'windows' as const, profiles: reported });
}
