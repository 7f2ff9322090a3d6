import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { psError } from '../../../fixtures/powershell-error.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { parseHotFixJson, parseWindowsUpdateSearch } from './parse-windows-update.js';
import { AU_POLICY_KEY, HOTFIX_SCRIPT, WINDOWS_UPDATE_SCRIPT, windowsPatches } from './patches.js';
import { powershellLine } from './powershell.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const SEARCH = powershellLine(WINDOWS_UPDATE_SCRIPT);
const HOTFIX = powershellLine(HOTFIX_SCRIPT);
const AU_POLICY = commandLine('reg', ['query', AU_POLICY_KEY]);
const wuaSearch = fixture('windows/WUA-IUpdateSearcher-IsInstalled0-ConvertTo-Json.txt');

function probe(commands: ProbeRecording['commands']) {
  return windowsPatches(recordedProbeContext({ platform: 'win32', commands }));
}

describe('Windows patches section', () => {
  it('counts pending updates and the security ones among them (severity rated, or filed under Security Updates)', async () => {
    const section = await probe({ [SEARCH]: wuaSearch, [HOTFIX]: fixture('windows/Get-HotFix-ConvertTo-Json-server2019.txt') });
    expect(section).toEqual({
      status: 'ok',
      collected_at,
      pending: 6,
      pending_security: 2,
      pending_security_unit: 'packages',
      last_installed_at: Date.UTC(2020, 8, 9) / 1000,
      auto_updates: null,
      source: 'windows_update',
    });
  });

  it('reads automatic updates from group policy', async () => {
    const policy = (value: string) => `\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU\r\n    ${value}\r\n\r\n`;
    expect(await probe({ [SEARCH]: '[]', [AU_POLICY]: policy('NoAutoUpdate    REG_DWORD    0x1') })).toMatchObject({ pending: 0, auto_updates: false });
    expect(await probe({ [SEARCH]: '[]', [AU_POLICY]: policy('AUOptions    REG_DWORD    0x4') })).toMatchObject({ auto_updates: true });
  });

  it('leaves definition updates out: antivirus freshness is reported by the antivirus section', () => {
    const definitions = JSON.stringify([{ UpdateID: 'x', Title: 'Security Intelligence Update for Microsoft Defender Antivirus - KB2267602', MsrcSeverity: null, CategoryIDs: ['e0789628-ce08-4437-be74-2495b842f43b'] }]);
    expect(parseWindowsUpdateSearch(definitions)).toEqual({ pending: 0, security: 0 });
  });

  it('reports an error naming the HRESULT when the search fails (offline, WSUS unreachable)', async () => {
    const offline = psError('System.Runtime.InteropServices.COMException', 'Exception from HRESULT: 0x8024402C', 0x8024402c - 0x100000000);
    expect(await probe({ [SEARCH]: offline })).toEqual({
      status: 'error',
      collected_at,
      error: 'Windows Update search failed: Exception from HRESULT: 0x8024402C (0x8024402c): check the network connection to Windows Update or WSUS',
    });
  });

  it.each([
    ['Get-HotFix-table-en-US-missing-InstalledBy.txt', 'Get-Hotfix'],
    ['Win32_QuickFixEngineering-table-es-ES-dates.txt', 'Get-WmiObject win32_quickfixengineering'],
  ])('does not read culture-formatted hotfix dates from the %s table: the last install stays unknown', async (file, command) => {
    const table = transcriptOutput(fixture(`windows/${file}`), command);
    expect(parseHotFixJson(table)).toBeNull();
    expect(await probe({ [SEARCH]: wuaSearch, [HOTFIX]: table })).toEqual({
      status: 'ok',
      collected_at,
      pending: 6,
      pending_security: 2,
      pending_security_unit: 'packages',
      last_installed_at: null,
      auto_updates: null,
      source: 'windows_update',
    });
  });

  it('takes the newest date whatever the order of rows, skipping rows without one', () => {
    const rows = [
      { HotFixID: 'KB1', InstalledOn: { value: '/Date(1599609600000)/', DateTime: 'Wednesday, September 9, 2020' } },
      { HotFixID: 'KB2', InstalledOn: null },
      { HotFixID: 'KB3', InstalledOn: '2021-03-04T00:00:00' },
      { HotFixID: 'KB4', InstalledOn: { value: '/Date(1500000000000)/' } },
    ];
    expect(parseHotFixJson(JSON.stringify(rows))).toEqual({ latest: Math.floor(Date.parse('2021-03-04T00:00:00') / 1000) });
  });
});
