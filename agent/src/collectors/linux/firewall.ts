import type { FirewallSection } from '@postern/shared';
import { SLOW_TIMEOUT_MS, type ExecResult, type ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, firstLine, isPermissionDenied, okSection } from '../section.js';
import { isMissingIptablesTable, parseIptablesS } from './parse-iptables.js';
import { parseNftRuleset } from './parse-nft.js';
import { parseUfwStatus, ufwConfigFiltersInbound } from './parse-ufw.js';

/**
 * Linux firewall facts.
 *
 * - `enabled`: some backend refuses NEW inbound connections by default (a drop policy
 *   on the input path, or an unconditional drop/reject it reaches; ufw's incoming
 *   default). A drop of some traffic under an accepting policy (a VPN's anti-spoofing
 *   rule, `ct state invalid drop`) does not count, nor do tables that accept everything.
 * - `backend`: the tool that filters, preferring the manager the admin uses (ufw,
 *   firewalld) over the kernel interface it drives (iptables, nftables); `none` when
 *   the rules were read and nothing filters.
 * - `profiles`: one entry per backend that was found and read, `enabled` = it filters
 *   inbound, so the backend can see e.g. "ufw installed but inactive".
 *
 * "Off" is only reported when the kernel rules themselves (nft and/or iptables) were
 * read; a tool we could not read (no root) makes the section an error, never "off".
 */
type Backend = 'nftables' | 'iptables' | 'ufw' | 'firewalld';
type Reading = { kind: 'absent' } | { kind: 'denied' } | { kind: 'failed'; reason: string } | { kind: 'read'; filters: boolean };

const ABSENT: Reading = { kind: 'absent' };
const DENIED: Reading = { kind: 'denied' };
/** Managers first: they name what the admin configured. */
const PRIORITY: Backend[] = ['ufw', 'firewalld', 'iptables', 'nftables'];

/** The backend's firewall check reads the `no firewall tool found` prefix as "not installed": keep it. */
export const NO_TOOL = 'no firewall tool found: nft, iptables, ufw and firewall-cmd are not installed';
export const NOT_ROOT = 'permission denied: run the agent as root to read the firewall';

export async function linuxFirewall(ctx: ProbeContext): Promise<FirewallSection> {
  const [nftables, iptables, ufw, running] = await Promise.all([readNft(ctx), readIptables(ctx), readUfw(ctx), readFirewalld(ctx)]);
  // What a running firewalld does (its zone may be "trusted") is in the kernel rules: they decide when readable.
  const firewalld: Reading =
    running.kind === 'read' && running.filters && (nftables.kind === 'read' || iptables.kind === 'read')
      ? { kind: 'read', filters: filtersIn(nftables) || filtersIn(iptables) }
      : running;
  const readings: Record<Backend, Reading> = { nftables, iptables, ufw, firewalld };
  const profiles = PRIORITY.flatMap((name) => {
    const r = readings[name];
    return r.kind === 'read' ? [{ name, enabled: r.filters }] : [];
  });

  const filtering = PRIORITY.find((name) => {
    const r = readings[name];
    return r.kind === 'read' && r.filters;
  });
  if (filtering) return okSection(ctx, { enabled: true, backend: filtering, profiles });

  const kernel = [nftables, iptables];
  if (kernel.every((r) => r.kind === 'read' || r.kind === 'absent') && kernel.some((r) => r.kind === 'read')) {
    return okSection(ctx, { enabled: false, backend: 'none' as const, profiles });
  }

  const all = Object.values(readings);
  if (all.every((r) => r.kind === 'absent')) return errorSection(ctx, NO_TOOL);
  if (all.some((r) => r.kind === 'denied')) return errorSection(ctx, NOT_ROOT);
  const failed = all.find((r): r is Extract<Reading, { kind: 'failed' }> => r.kind === 'failed');
  return errorSection(ctx, failed?.reason ?? 'cannot read the kernel firewall rules: nft and iptables not found');
}

function filtersIn(r: Reading): boolean {
  return r.kind === 'read' && r.filters;
}

/** A command that ran: absent, denied, failed, or undefined when its output should be parsed. */
function classify(tool: string, r: ExecResult): Reading | undefined {
  if (r.failure === 'not_found') return ABSENT;
  if (isPermissionDenied(r)) return DENIED;
  if (r.failure || r.code !== 0) return { kind: 'failed', reason: execFailureReason(tool, r) };
  return undefined;
}

async function readNft(ctx: ProbeContext): Promise<Reading> {
  const r = await ctx.exec('nft', ['-j', 'list', 'ruleset']);
  const early = classify('nft', r);
  if (early) return early;
  // An empty ruleset prints nothing at all on some nft versions.
  if (r.stdout.trim() === '') return { kind: 'read', filters: false };
  const parsed = parseNftRuleset(r.stdout);
  return parsed ? { kind: 'read', filters: parsed.filtersInbound } : { kind: 'failed', reason: 'unrecognised nft -j output' };
}

async function readIptables(ctx: ProbeContext): Promise<Reading> {
  const r = await ctx.exec('iptables', ['-S']);
  if (r.failure !== 'not_found' && isMissingIptablesTable(r.stderr)) return { kind: 'read', filters: false };
  const early = classify('iptables', r);
  if (early) return early;
  const parsed = parseIptablesS(r.stdout);
  return parsed ? { kind: 'read', filters: parsed.filtersInbound } : { kind: 'failed', reason: 'unrecognised iptables -S output' };
}

async function readUfw(ctx: ProbeContext): Promise<Reading> {
  const r = await ctx.exec('ufw', ['status', 'verbose']);
  const early = classify('ufw', r);
  if (early === DENIED) {
    // ufw's own config is world-readable and good enough to say "on"; never to say "off".
    const [conf, defaults] = await Promise.all([ctx.readFile('/etc/ufw/ufw.conf'), ctx.readFile('/etc/default/ufw')]);
    return ufwConfigFiltersInbound(conf, defaults) ? { kind: 'read', filters: true } : DENIED;
  }
  if (early) return early;
  const parsed = parseUfwStatus(r.stdout);
  return parsed ? { kind: 'read', filters: parsed.filtersInbound } : { kind: 'failed', reason: 'unrecognised ufw status output' };
}

/**
 * `firewall-cmd --state` needs no root but retries D-Bus for ~10 s when firewalld is
 * down, so systemd is asked first. Without root, "running" is the best fact there is
 * and counts as filtering (firewalld's default zone rejects); with root the kernel rules
 * decide instead (see linuxFirewall).
 */
async function readFirewalld(ctx: ProbeContext): Promise<Reading> {
  const unit = await ctx.exec('systemctl', ['is-active', 'firewalld']);
  if (!unit.failure && unit.stdout.trim() !== 'active') return ABSENT;
  const r = await ctx.exec('firewall-cmd', ['--state'], { timeoutMs: SLOW_TIMEOUT_MS });
  if (r.failure === 'not_found') return ABSENT;
  const state = firstLine(r.stdout) || firstLine(r.stderr);
  if (state === 'running') return { kind: 'read', filters: true };
  if (state === 'not running') return { kind: 'read', filters: false };
  if (state === 'failed') return { kind: 'failed', reason: 'firewalld failed to apply its configuration' };
  return classify('firewall-cmd', r) ?? { kind: 'failed', reason: 'unrecognised firewall-cmd --state output' };
}
