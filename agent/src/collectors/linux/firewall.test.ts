import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { linuxFirewall, NO_TOOL, NOT_ROOT } from './firewall.js';
import { parseIptablesS } from './parse-iptables.js';
import { parseNftRuleset } from './parse-nft.js';
import { parseUfwStatus } from './parse-ufw.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const NFT = 'nft -j list ruleset';
const IPTABLES = 'iptables -S';
const UFW = 'ufw status verbose';
const FIREWALLD_UNIT = 'systemctl is-active firewalld';
const FIREWALL_CMD = 'firewall-cmd --state';

const nftAcceptAll = fixture('linux/nft-jat-list-ruleset.txt');
const nftEmpty = fixture('linux/nft-j-list-ruleset-empty-debian12-vm.txt');
const iptablesAcceptAll = fixture('linux/iptables-S-accept-all-debian12-vm.txt');
const firewalldInactive: RecordedExec = { code: 3, stdout: 'inactive\n', stderr: '' };

/** The two rows of nft-iptables-non-root-errors-table.txt: the error cells are the tools' stderr. */
function nonRootErrors(): { nft: RecordedExec; iptables: RecordedExec } {
  const rows = fixture('linux/nft-iptables-non-root-errors-table.txt').trim().split('\n');
  const stderr = (row: string) => `${[...row.split('|').at(-2)!.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join('\n')}\n`;
  return { nft: { code: 1, stdout: '', stderr: stderr(rows[0]!) }, iptables: { code: 4, stdout: '', stderr: stderr(rows[1]!) } };
}
const ufwTranscript = fixture('linux/ufw-status-non-root-error.txt');
const ufwNotRoot: RecordedExec = { code: 1, stdout: '', stderr: transcriptOutput(ufwTranscript, 'ufw status') };
const ufwInactive = transcriptOutput(ufwTranscript, 'sudo ufw status');

/** nft -j output for rulesets no fixture captured, built from the same JSON objects nft prints. */
function nftRuleset(...objects: object[]): string {
  return JSON.stringify({ nftables: [{ metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } }, ...objects] });
}
const table = { table: { family: 'inet', name: 'filter', handle: 1 } };
const chain = (name: string, extra: object = {}) => ({ chain: { family: 'inet', table: 'filter', name, handle: 1, ...extra } });
const rule = (chainName: string, ...expr: object[]) => ({ rule: { family: 'inet', table: 'filter', chain: chainName, handle: 2, expr } });
const established = { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } };

const nftDropPolicy = nftRuleset(table, chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'drop' }), rule('input', established, { accept: null }));

function probe(recording: ProbeRecording) {
  return linuxFirewall(recordedProbeContext(recording));
}
const ok = (enabled: boolean, backend: string, profiles: Array<[string, boolean]>) => ({
  status: 'ok',
  collected_at,
  enabled,
  backend,
  profiles: profiles.map(([name, on]) => ({ name, enabled: on })),
});
const error = (reason: string) => ({ status: 'error', collected_at, error: reason });

describe('linux firewall section', () => {
  it('does not count an accept-all nftables ruleset as a firewall', async () => {
    const section = await probe({ commands: { [NFT]: nftAcceptAll, [IPTABLES]: iptablesAcceptAll, [FIREWALLD_UNIT]: firewalldInactive } });
    expect(section).toEqual(ok(false, 'none', [['iptables', false], ['nftables', false]]));
  });

  it('reports nftables as enabled when an input chain drops by policy', async () => {
    const section = await probe({ commands: { [NFT]: nftDropPolicy, [IPTABLES]: iptablesAcceptAll, [FIREWALLD_UNIT]: firewalldInactive } });
    expect(section).toEqual(ok(true, 'nftables', [['iptables', false], ['nftables', true]]));
  });

  // Changed: a reject of one port (telnet) behind a jump used to count as filtering; a chain whose
  // catch-all reject is reached through a jump still does.
  it('reports nftables as enabled when a catch-all reject is reached through a jump', async () => {
    const ruleset = nftRuleset(
      table,
      chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }),
      chain('inbound'),
      rule('input', established, { accept: null }),
      rule('input', { jump: { target: 'inbound' } }),
      rule('inbound', { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { accept: null }),
      rule('inbound', { counter: { packets: 0, bytes: 0 } }, { reject: { type: 'icmpx', expr: 'admin-prohibited' } }),
    );
    expect(await probe({ commands: { [NFT]: ruleset } })).toEqual(ok(true, 'nftables', [['nftables', true]]));
  });

  it('does not count a reject of one port as filtering when the input policy accepts', async () => {
    const ruleset = nftRuleset(
      table,
      chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }),
      chain('inbound'),
      rule('input', { jump: { target: 'inbound' } }),
      rule('inbound', { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 23 } }, { reject: { type: 'tcp reset' } }),
    );
    expect(parseNftRuleset(ruleset)).toEqual({ filtersInbound: false });
  });

  // Changed: this ruleset (`ct state vmap { invalid : drop }`, policy accept) used to count as filtering.
  it('does not count a drop inside a verdict map for invalid packets as filtering', async () => {
    const vmap = { vmap: { key: { ct: { key: 'state' } }, data: { set: [['established', { accept: null }], ['invalid', { drop: null }]] } } };
    const ruleset = nftRuleset(table, chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }), rule('input', vmap));
    expect(parseNftRuleset(ruleset)).toEqual({ filtersInbound: false });
  });

  it('does not count a VPN client\'s anti-spoofing drop on an accept-all host as a firewall', async () => {
    const section = await probe({
      commands: {
        [NFT]: fixture('linux/nft-j-list-ruleset-vpn-antispoof-accept-policy-constructed.txt'),
        [IPTABLES]: fixture('linux/iptables-S-vpn-antispoof-accept-policy-constructed.txt'),
        [FIREWALLD_UNIT]: firewalldInactive,
      },
    });
    expect(section).toEqual(ok(false, 'none', [['iptables', false], ['nftables', false]]));
  });

  it('does not count `ct state invalid drop` under an accept policy as a firewall', async () => {
    expect(parseNftRuleset(fixture('linux/nft-j-list-ruleset-ct-state-invalid-drop-accept-policy-constructed.txt'))).toEqual({ filtersInbound: false });
  });

  it('counts a final unconditional reject (firewalld on nftables) as filtering, whatever the policy', async () => {
    expect(parseNftRuleset(fixture('linux/nft-j-list-ruleset-firewalld-final-reject-constructed.txt'))).toEqual({ filtersInbound: true });
  });

  it('counts a catch-all drop that matches only new connections as filtering', async () => {
    const ruleset = nftRuleset(
      table,
      chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }),
      rule('input', established, { accept: null }),
      rule('input', { match: { op: 'in', left: { ct: { key: 'state' } }, right: 'new' } }, { drop: null }),
    );
    expect(parseNftRuleset(ruleset)).toEqual({ filtersInbound: true });
  });

  it('does not count a drop that comes after an unconditional accept', async () => {
    const ruleset = nftRuleset(table, chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }), rule('input', { accept: null }), rule('input', { drop: null }));
    expect(parseNftRuleset(ruleset)).toEqual({ filtersInbound: false });
  });

  it('ignores drops that only apply to forwarded traffic (Docker)', async () => {
    const ruleset = nftRuleset(
      table,
      chain('input', { type: 'filter', hook: 'input', prio: 0, policy: 'accept' }),
      chain('forward', { type: 'filter', hook: 'forward', prio: 0, policy: 'drop' }),
      chain('isolation'),
      rule('forward', { jump: { target: 'isolation' } }),
      rule('isolation', { drop: null }),
    );
    expect(parseNftRuleset(ruleset)).toEqual({ filtersInbound: false });
  });

  it('treats an empty ruleset as filtering nothing (this development VM)', async () => {
    expect(parseNftRuleset(nftEmpty)).toEqual({ filtersInbound: false });
  });

  it('reports a permission error, never "off", when not running as root', async () => {
    const { nft, iptables } = nonRootErrors();
    const section = await probe({
      isPrivileged: false,
      commands: { [NFT]: nft, [IPTABLES]: iptables, [UFW]: ufwNotRoot, [FIREWALLD_UNIT]: firewalldInactive },
    });
    expect(section).toEqual(error(NOT_ROOT));
  });

  it('trusts ufw.conf to say "on" without root, but never to say "off"', async () => {
    const { nft, iptables } = nonRootErrors();
    const commands = { [NFT]: nft, [IPTABLES]: iptables, [UFW]: ufwNotRoot, [FIREWALLD_UNIT]: firewalldInactive };
    const on = await probe({
      isPrivileged: false,
      commands,
      files: { '/etc/ufw/ufw.conf': 'ENABLED=yes\nLOGLEVEL=low\n', '/etc/default/ufw': 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\n' },
    });
    expect(on).toEqual(ok(true, 'ufw', [['ufw', true]]));
    const off = await probe({
      isPrivileged: false,
      commands,
      files: { '/etc/ufw/ufw.conf': 'ENABLED=no\n', '/etc/default/ufw': 'DEFAULT_INPUT_POLICY="DROP"\n' },
    });
    expect(off).toEqual(error(NOT_ROOT));
  });

  it('reports ufw as the backend when it is active with a deny-incoming default', async () => {
    const ufwIptables = [
      '-P INPUT DROP',
      '-P FORWARD DROP',
      '-P OUTPUT ACCEPT',
      '-N ufw-before-input',
      '-A INPUT -j ufw-before-input',
      '-A ufw-before-input -i lo -j ACCEPT',
    ].join('\n');
    const section = await probe({
      commands: { [NFT]: nftEmpty, [IPTABLES]: ufwIptables, [UFW]: fixture('linux/ufw-status-verbose-active.txt'), [FIREWALLD_UNIT]: firewalldInactive },
    });
    expect(section).toEqual(ok(true, 'ufw', [['ufw', true], ['iptables', true], ['nftables', false]]));
  });

  it('reports an inactive ufw as a profile that is off', async () => {
    const section = await probe({ commands: { [NFT]: nftAcceptAll, [IPTABLES]: iptablesAcceptAll, [UFW]: ufwInactive, [FIREWALLD_UNIT]: firewalldInactive } });
    expect(section).toEqual(ok(false, 'none', [['ufw', false], ['iptables', false], ['nftables', false]]));
  });

  it('reports firewalld as enabled when it is running, even without root', async () => {
    const { nft, iptables } = nonRootErrors();
    const section = await probe({
      isPrivileged: false,
      commands: {
        [NFT]: nft,
        [IPTABLES]: iptables,
        [FIREWALLD_UNIT]: 'active\n',
        [FIREWALL_CMD]: fixture('linux/firewall-cmd-state-running.txt'),
      },
    });
    expect(section).toEqual(ok(true, 'firewalld', [['firewalld', true]]));
  });

  it('lets the kernel rules decide for a running firewalld when root can read them (trusted zone)', async () => {
    const section = await probe({
      commands: { [NFT]: nftAcceptAll, [FIREWALLD_UNIT]: 'active\n', [FIREWALL_CMD]: fixture('linux/firewall-cmd-state-running.txt') },
    });
    expect(section).toEqual(ok(false, 'none', [['firewalld', false], ['nftables', false]]));
  });

  it('reports firewalld as off when firewall-cmd says it is not running', async () => {
    const section = await probe({
      commands: {
        [NFT]: nftAcceptAll,
        // systemd unavailable (container): firewall-cmd is asked directly.
        [FIREWALL_CMD]: { code: 252, stdout: '', stderr: fixture('linux/firewall-cmd-state-not-running.txt') },
      },
    });
    expect(section).toEqual(ok(false, 'none', [['firewalld', false], ['nftables', false]]));
  });

  it('does not ask firewall-cmd, which waits ~10 s for D-Bus, when systemd says firewalld is inactive', async () => {
    const asked: string[] = [];
    const ctx = recordedProbeContext({ commands: { [NFT]: nftAcceptAll, [FIREWALLD_UNIT]: firewalldInactive } });
    const exec = ctx.exec.bind(ctx);
    ctx.exec = (command, args, options) => {
      asked.push(command);
      return exec(command, args, options);
    };
    await linuxFirewall(ctx);
    expect(asked).not.toContain('firewall-cmd');
  });

  it('says which tools it looked for when none is installed', async () => {
    expect(await probe({})).toEqual(error(NO_TOOL));
    expect(NO_TOOL).toBe('no firewall tool found: nft, iptables, ufw and firewall-cmd are not installed');
  });

  it('says no tool is installed, not "run as root", when an unprivileged agent finds none', async () => {
    expect(await probe({ isPrivileged: false, commands: { [FIREWALLD_UNIT]: firewalldInactive } })).toEqual(error(NO_TOOL));
  });

  it('does not report "off" when nft timed out, even though iptables accepts everything', async () => {
    const section = await probe({
      commands: { [NFT]: { code: null, stdout: '', stderr: '', failure: 'timeout' }, [IPTABLES]: iptablesAcceptAll, [FIREWALLD_UNIT]: firewalldInactive },
    });
    expect(section).toEqual(error('nft timed out'));
  });

  it('reads a legacy kernel with no filter table as filtering nothing', async () => {
    const missing = { code: 3, stdout: '', stderr: "iptables v1.8.7 (legacy): can't initialize iptables table `filter': Table does not exist (do you need to insmod?)\n" };
    expect(await probe({ commands: { [IPTABLES]: missing } })).toEqual(ok(false, 'none', [['iptables', false]]));
  });
});

describe('parseIptablesS', () => {
  // Changed: a DROP of one port reached through user chains used to count as filtering.
  it('finds a catch-all DROP reached from INPUT through user chains (ufw style)', () => {
    const text = ['-P INPUT ACCEPT', '-N ufw-before-input', '-N ufw-user-input', '-A INPUT -j ufw-before-input', '-A ufw-before-input -j ufw-user-input', '-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT', '-A ufw-user-input -j DROP'].join('\n');
    expect(parseIptablesS(text)).toEqual({ filtersInbound: true });
  });

  it('does not count a DROP of one port under an ACCEPT policy', () => {
    const text = ['-P INPUT ACCEPT', '-N ufw-user-input', '-A INPUT -j ufw-user-input', '-A ufw-user-input -p tcp -m tcp --dport 23 -j DROP'].join('\n');
    expect(parseIptablesS(text)).toEqual({ filtersInbound: false });
  });

  it('does not count a VPN anti-spoofing DROP and a conntrack INVALID drop as filtering', () => {
    expect(parseIptablesS(fixture('linux/iptables-S-vpn-antispoof-accept-policy-constructed.txt'))).toEqual({ filtersInbound: false });
  });

  it('counts a final unconditional REJECT in INPUT as filtering (EL7 iptables-services)', () => {
    expect(parseIptablesS(fixture('linux/iptables-S-final-reject-el7-constructed.txt'))).toEqual({ filtersInbound: true });
  });

  it('does not count a REJECT that only follows an unconditional ACCEPT', () => {
    expect(parseIptablesS(['-P INPUT ACCEPT', '-A INPUT -j ACCEPT', '-A INPUT -j REJECT'].join('\n'))).toEqual({ filtersInbound: false });
  });

  it('ignores Docker drops that only apply to forwarded traffic', () => {
    const text = ['-P INPUT ACCEPT', '-P FORWARD DROP', '-P OUTPUT ACCEPT', '-N DOCKER-ISOLATION-STAGE-2', '-A FORWARD -j DOCKER-ISOLATION-STAGE-2', '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP'].join('\n');
    expect(parseIptablesS(text)).toEqual({ filtersInbound: false });
  });

  it('returns null for output that is not iptables -S', () => {
    expect(parseIptablesS('Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n')).toBeNull();
  });
});

describe('parseUfwStatus', () => {
  it('reads an active ufw with a deny-incoming default as filtering', () => {
    expect(parseUfwStatus(fixture('linux/ufw-status-verbose-active.txt'))).toEqual({ active: true, filtersInbound: true });
  });

  it('does not count an active ufw whose incoming default allows, whatever its deny rules', () => {
    expect(parseUfwStatus(fixture('linux/ufw-status-verbose-active-allow-incoming-deny-rule-constructed.txt'))).toEqual({ active: true, filtersInbound: false });
  });

  it('does not read the non-root error as "inactive"', () => {
    expect(parseUfwStatus(transcriptOutput(ufwTranscript, 'ufw status'))).toBeNull();
  });
});
