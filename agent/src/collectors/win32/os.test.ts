import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording } from '../probe.js';
import { CURRENT_VERSION_SCRIPT, WMIC_OS_ARGS, windowsOs } from './os.js';
import { parseCurrentVersionJson } from './parse-current-version.js';
import { powershellLine } from './powershell.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const REGISTRY = powershellLine(CURRENT_VERSION_SCRIPT);
const WMIC = commandLine('wmic', WMIC_OS_ARGS);
const host = { platform: 'win32' as const, kernel: '10.0.26100', arch: 'x64' };

function probe(commands: ProbeRecording['commands']) {
  return windowsOs(recordedProbeContext({ ...host, commands }));
}
const windows = (name: string, version: string, build: string) => ({ status: 'ok', collected_at, platform: 'win32', id: 'windows', name, version, build, kernel: host.kernel, arch: host.arch });

describe('Windows os section', () => {
  it('reads build and patch level (UBR) from the registry (Windows 11 24H2)', async () => {
    expect(await probe({ [REGISTRY]: fixture('windows/registry-CurrentVersion-json-win11-24h2-enterprise.txt') })).toEqual(windows('Windows 11 Enterprise', '10.0.26100.3000', '26100'));
  });

  it('copes with the null DisplayVersion of Server 2019', async () => {
    expect(await probe({ [REGISTRY]: fixture('windows/registry-CurrentVersion-json-server2019-displayversion-null.txt') })).toEqual(
      windows('Windows Server 2019 Datacenter', '10.0.17763.6414', '17763'),
    );
  });

  it('calls Windows 11 by its name when the registry says "Windows 10" (build 22000 and above)', async () => {
    const win11SaysWin10 = fixture('windows/registry-CurrentVersion-json-win11-24h2-enterprise.txt').replace('Windows 11 Enterprise', 'Windows 10 Enterprise');
    expect(await probe({ [REGISTRY]: win11SaysWin10 })).toMatchObject({ name: 'Windows 11 Enterprise', build: '26100' });
    const win10 = win11SaysWin10.replace('"26100"', '"19045"');
    expect(await probe({ [REGISTRY]: win10 })).toMatchObject({ name: 'Windows 10 Enterprise', version: '10.0.19045.3000', build: '19045' });
  });

  it('falls back to wmic when PowerShell cannot run', async () => {
    expect(await probe({ [WMIC]: fixture('windows/wmic-os-get-csv-server2019.txt') })).toEqual(windows('Windows Server 2019 Datacenter Evaluation', '10.0.17763', '17763'));
  });

  it("takes the architecture from the OS (registry), not from the agent's own process (x64 Node on ARM64 Windows)", async () => {
    const arm = JSON.stringify({ ...JSON.parse(fixture('windows/registry-CurrentVersion-json-win11-24h2-enterprise.txt')), Architecture: 'AMD64', OsArchitecture: 'ARM64' });
    expect(await probe({ [REGISTRY]: arm })).toMatchObject({ arch: 'arm64' });
    const onArmHost = await windowsOs(recordedProbeContext({ ...host, arch: 'arm64', commands: { [REGISTRY]: fixture('windows/registry-CurrentVersion-json-win11-24h2-enterprise.txt') } }));
    // The capture says AMD64: an x64 Windows, whatever process.arch says.
    expect(onArmHost).toMatchObject({ arch: 'x64' });
    expect(CURRENT_VERSION_SCRIPT).toContain('Session Manager\\Environment');
  });

  it("reads wmic's OSArchitecture when PowerShell cannot run", async () => {
    const onArmHost = await windowsOs(recordedProbeContext({ ...host, arch: 'arm64', commands: { [WMIC]: fixture('windows/wmic-os-get-csv-server2019.txt') } }));
    expect(onArmHost).toMatchObject({ arch: 'x64' });
  });

  it('reports an error when neither answers', async () => {
    expect(await probe({})).toEqual({ status: 'error', collected_at, error: 'cannot read the Windows version: powershell not found' });
  });

  it('refuses JSON without a numeric CurrentBuild', () => {
    expect(parseCurrentVersionJson('{"ProductName":"Windows 10 Pro"}')).toBeNull();
  });
});
