import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { FIREWALL_PROFILE_SCRIPT, NETSH_ARGS, windowsFirewall } from './firewall.js';
import { parseNetshFirewallState } from './parse-firewall-profile.js';
import { powershellLine } from './powershell.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const PROFILES = powershellLine(FIREWALL_PROFILE_SCRIPT);
const NETSH = commandLine('netsh', NETSH_ARGS);

function probe(commands: ProbeRecording['commands']) {
  return windowsFirewall(recordedProbeContext({ platform: 'win32', commands }));
}
const ok = (enabled: boolean, profiles: Array<[string, boolean]>) => ({
  status: 'ok',
  collected_at,
  enabled,
  backend: 'windows',
  profiles: profiles.map(([name, on]) => ({ name, enabled: on })),
});
const profileJson = (...profiles: Array<[string, number, number]>) =>
  JSON.stringify(profiles.map(([Name, Enabled, DefaultInboundAction]) => ({ Name, Enabled, DefaultInboundAction })));

describe('Windows firewall section', () => {
  it('reports every profile on from Get-NetFirewallProfile JSON', async () => {
    expect(await probe({ [PROFILES]: profileJson(['Domain', 1, 0], ['Private', 1, 0], ['Public', 1, 4]) })).toEqual(
      ok(true, [['Domain', true], ['Private', true], ['Public', true]]),
    );
  });

  it('reports one profile switched off, per profile, and the firewall as off only when every profile is', async () => {
    expect(await probe({ [PROFILES]: profileJson(['Domain', 0, 0], ['Private', 1, 0], ['Public', 1, 0]) })).toEqual(
      ok(true, [['Domain', false], ['Private', true], ['Public', true]]),
    );
    expect(await probe({ [PROFILES]: profileJson(['Domain', 0, 0], ['Private', 0, 0], ['Public', 0, 0]) })).toEqual(
      ok(false, [['Domain', false], ['Private', false], ['Public', false]]),
    );
  });

  it('counts a profile that allows inbound traffic by default as not filtering', async () => {
    expect(await probe({ [PROFILES]: profileJson(['Domain', 1, 0], ['Private', 1, 2], ['Public', 1, 0]) })).toEqual(
      ok(true, [['Domain', true], ['Private', false], ['Public', true]]),
    );
  });

  it('does not call the firewall on when a profile is missing from the answer (cnquery capture: Private and Public only)', async () => {
    expect(await probe({ [PROFILES]: fixture('windows/Get-NetFirewallProfile-ConvertTo-Json-numeric.txt') })).toEqual({
      status: 'error',
      collected_at,
      error: 'the firewall state of the Domain profile was not reported',
    });
  });

  it.each([
    ['Get-NetFirewallProfile-all-enabled-server.txt', 'Get-NetFirewallProfile'],
    ['Get-NetFirewallProfile-domain-disabled-first-profile.txt', 'Get-NetFirewallProfile'],
  ])('refuses the list view of %s rather than reading text', async (file, command) => {
    const view = transcriptOutput(fixture(`windows/${file}`), command);
    expect(await probe({ [PROFILES]: view })).toEqual({ status: 'error', collected_at, error: `unrecognised Get-NetFirewallProfile output: ${view.trim().slice(0, 60)}` });
  });

  it('reads translated netsh output when PowerShell cannot run (German: Status EIN)', async () => {
    expect(await probe({ [NETSH]: fixture('windows/netsh-advfirewall-show-allprofiles-state-de-DE-EIN.txt') })).toEqual(
      ok(true, [['Domain', true], ['Private', true], ['Public', true]]),
    );
  });

  it('reports the domain profile off from netsh, though the other profiles were not shown', async () => {
    const text = transcriptOutput(fixture('windows/netsh-advfirewall-show-currentprofile-domain-off.txt'), 'netsh advfirewall show currentprofile');
    expect(await probe({ [NETSH]: text })).toEqual(ok(false, [['Domain', false]]));
  });

  it('reads French and Spanish netsh wording, and refuses a state word it does not know', () => {
    const fr = 'Paramètres Profil de domaine :\n----\nÉtat                                  Actif\n\nParamètres Profil privé :\nÉtat      Inactif\nParamètres Profil public :\nÉtat   Actif\n';
    expect(parseNetshFirewallState(fr)).toEqual([
      { name: 'Domain', filtersInbound: true },
      { name: 'Private', filtersInbound: false },
      { name: 'Public', filtersInbound: true },
    ]);
    expect(parseNetshFirewallState('Configuración de Perfil público:\nEstado      DESACTIVADO\n')).toEqual([{ name: 'Public', filtersInbound: false }]);
    expect(parseNetshFirewallState('Domain Profile Settings:\nState    MAYBE\n')).toBeNull();
  });
});
