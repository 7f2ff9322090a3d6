import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { psError } from '../../../fixtures/powershell-error.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { DEFENDER_STATUS_SCRIPT, SECURITY_CENTER_SCRIPT, windowsAntivirus, WSC_HEALTH_SCRIPT } from './antivirus.js';
import { decodeProductState, parseWscHealth } from './parse-security-center.js';
import { powershellLine } from './powershell.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const CENTER = powershellLine(SECURITY_CENTER_SCRIPT);
const WSC = powershellLine(WSC_HEALTH_SCRIPT);
const DEFENDER = powershellLine(DEFENDER_STATUS_SCRIPT);
const securityCenter = fixture('windows/SecurityCenter2-AntiVirusProduct-ConvertTo-Json-defender.txt');
const wscHealth = fixture('windows/WscGetSecurityProviderHealth-json.txt');
const invalidNamespace = psError('Microsoft.Management.Infrastructure.CimException', 'Invalid namespace ', 0x8004100e - 0x100000000);

function probe(commands: ProbeRecording['commands']) {
  return windowsAntivirus(recordedProbeContext({ platform: 'win32', commands }));
}
const defender = { name: 'Windows Defender', enabled: true, up_to_date: true };

describe('Windows antivirus section', () => {
  it('reads products from Security Center, with its health (antivirus good, firewall poor)', async () => {
    expect(await probe({ [CENTER]: securityCenter, [WSC]: wscHealth })).toEqual({ status: 'ok', collected_at, active: true, products: [defender] });
  });

  it('reports a snoozed antivirus as not active', async () => {
    expect(await probe({ [CENTER]: securityCenter, [WSC]: wscHealth.replace('"antiVirus":0', '"antiVirus":3') })).toMatchObject({ active: false, products: [defender] });
  });

  it('reports a product whose real-time protection is off, with outdated signatures', async () => {
    const offOutdated = securityCenter.replace(/"productState": 397568/, `"productState": ${0x060010}`);
    expect(await probe({ [CENTER]: offOutdated })).toMatchObject({ active: false, products: [{ name: 'Windows Defender', enabled: false, up_to_date: false }] });
  });

  it("reads Microsoft Defender's own status on Windows Server, which has no Security Center", async () => {
    expect(await probe({ [CENTER]: invalidNamespace, [DEFENDER]: fixture('windows/Get-MpComputerStatus-ConvertTo-Json-server2022.txt') })).toEqual({
      status: 'ok',
      collected_at,
      active: true,
      products: [{ name: 'Microsoft Defender Antivirus', enabled: true, up_to_date: true }],
    });
  });

  it('reports Defender in passive mode (another antivirus in charge) as not enabled', async () => {
    const passive = fixture('windows/Get-MpComputerStatus-ConvertTo-Json-server2022.txt').replace('"AMRunningMode": "Normal"', '"AMRunningMode": "Passive"');
    expect(await probe({ [CENTER]: invalidNamespace, [DEFENDER]: passive })).toMatchObject({ active: false, products: [{ enabled: false }] });
  });

  it('reports an error when Server has no Defender either', async () => {
    const missing = psError('System.Management.Automation.CommandNotFoundException', "The term 'Get-MpComputerStatus' is not recognized");
    expect(await probe({ [CENTER]: invalidNamespace, [DEFENDER]: missing })).toEqual({
      status: 'error',
      collected_at,
      error: 'cannot list antivirus products: Security Center is absent (Windows Server) and Microsoft Defender is not installed',
    });
  });
});

describe('Security Center decoding', () => {
  it('decodes productState 397568 (0x61100) as on, signatures current', () => {
    expect(decodeProductState(397568)).toEqual({ enabled: true, upToDate: true });
  });

  it('reads every provider of WscGetSecurityProviderHealth', () => {
    expect(parseWscHealth(wscHealth)).toEqual({
      firewall: 'poor',
      autoUpdate: 'good',
      antiVirus: 'good',
      antiSpyware: 'good',
      internetSettings: 'good',
      uac: 'poor',
      securityCenterService: 'good',
    });
  });
});
