import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { darwinDiskEncryption, DISKUTIL_APFS_ARGS, MDMCLIENT } from './filevault.js';
import { parseDiskutilApfsList, systemDataVolume } from './parse-diskutil-apfs.js';
import { parseFdesetupStatus } from './parse-fdesetup.js';
import { parseMdmclientSecurityInfo } from './parse-mdmclient.js';
import { parsePlist } from './parse-plist.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const FDESETUP = 'fdesetup status';
const DISKUTIL = commandLine('diskutil', DISKUTIL_APFS_ARGS);
const MDM = commandLine(MDMCLIENT, ['QuerySecurityInfo']);
const diskutilPlist = fixture('macos/diskutil-apfs-list-plist.txt');
/** The same listing with the data volume's FileVault off: Apple silicon or T2, encrypted at rest only by the hardware. */
const diskutilHardwareOnly = diskutilPlist.replace(
  /(<string>disk3s5<\/string>\s*<key>Encryption<\/key>\s*<true\/>\s*<key>FileVault<\/key>\s*)<true\/>/,
  '$1<false/>',
);

/** fdesetup exits 0 for On, 1 for Off and 2 for On-but-busy (fdesetup(8)). */
const fdesetup = (file: string, code: number): RecordedExec => ({ code, stdout: fixture(`macos/${file}`), stderr: '' });

function probe(commands: ProbeRecording['commands'], isPrivileged = false) {
  return darwinDiskEncryption(recordedProbeContext({ platform: 'darwin', isPrivileged, commands }));
}
const startupDisk = (facts: object) => ({ status: 'ok', collected_at, volumes: [{ mount: '/', ...facts, system: true }] });
const off = { encrypted: false, method: null, state: 'off' };

describe('macOS disk encryption section (FileVault)', () => {
  it('reports FileVault on', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-on.txt', 0), [DISKUTIL]: diskutilPlist })).toEqual(
      startupDisk({ encrypted: true, method: 'filevault', state: 'on' }),
    );
  });

  it('reports FileVault off', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-off.txt', 1) })).toEqual(startupDisk(off));
  });

  it('reads only the fdesetup line of a capture with diskutil lines appended', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-off-plus-diskutil-apfs.txt', 1) })).toEqual(startupDisk(off));
  });

  it('does not call hardware encryption on Apple silicon FileVault', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-off.txt', 1), [DISKUTIL]: diskutilHardwareOnly })).toEqual(
      startupDisk({ ...off, detail: 'hardware_only' }),
    );
  });

  it('reports deferred enablement as off, waiting for the next login', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-deferred-for-user.txt', 1) })).toEqual(startupDisk({ ...off, detail: 'deferred' }));
  });

  it('reports encryption in progress as encrypting, not yet encrypted (the percentage is a placeholder in this capture)', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-encryption-in-progress.txt', 2) })).toEqual(
      startupDisk({ encrypted: false, method: 'filevault', state: 'encrypting' }),
    );
  });

  it('reports encryption pending on battery as encrypting and paused, with the percentage when printed', async () => {
    const onBattery = await probe({ [FDESETUP]: { code: 2, stdout: 'FileVault is On.\nEncryption in progress: Pending\n', stderr: '' } });
    expect(onBattery).toEqual(startupDisk({ encrypted: false, method: 'filevault', state: 'encrypting', detail: 'paused' }));
    const running = await probe({ [FDESETUP]: { code: 2, stdout: 'FileVault is On.\nEncryption in progress: Percent completed = 42.5\n', stderr: '' } });
    expect(running).toEqual(startupDisk({ encrypted: false, method: 'filevault', state: 'encrypting', progress: 42.5 }));
  });

  it('reports decryption in progress as decrypting', async () => {
    expect(await probe({ [FDESETUP]: fdesetup('fdesetup-status-decryption-in-progress.txt', 1) })).toEqual(
      startupDisk({ encrypted: false, method: 'filevault', state: 'decrypting', progress: 35 }),
    );
  });

  it("falls back to diskutil's FileVault flag when fdesetup cannot answer", async () => {
    const section = await probe({ [FDESETUP]: { code: null, stdout: '', stderr: '', failure: 'timeout' }, [DISKUTIL]: diskutilPlist });
    expect(section).toEqual(startupDisk({ encrypted: true, method: 'filevault', state: 'on' }));
  });

  it('falls back to mdmclient, as root, when neither fdesetup nor diskutil answers', async () => {
    const section = await probe({ [MDM]: fixture('macos/mdmclient-QuerySecurityInfo.txt') }, true);
    expect(section).toEqual(startupDisk({ encrypted: true, method: 'filevault', state: 'on' }));
  });

  it('reports an error, never "off", when nothing answers', async () => {
    expect(await probe({})).toEqual({ status: 'error', collected_at, error: 'fdesetup not found' });
    expect(await probe({ [FDESETUP]: 'Error: something new\n' })).toEqual({ status: 'error', collected_at, error: 'unrecognised fdesetup status output: Error: something new' });
  });
});

describe('parseDiskutilApfsList', () => {
  it('finds the data volume of the container that holds the System volume', () => {
    const containers = parseDiskutilApfsList(parsePlist(diskutilPlist))!;
    expect(containers.map((c) => c.map((v) => v.name))).toEqual([
      ['iSCPreboot', 'xART', 'Hardware', 'Recovery'],
      ['Recovery', 'Update'],
      ['Macintosh HD', 'Preboot', 'Recovery', 'Update', 'Data', 'VM', 'Nix Store'],
    ]);
    expect(systemDataVolume(containers)).toEqual({ name: 'Data', device: 'disk3s5', roles: ['Data'], encryption: true, filevault: true, cryptoMigrationOn: false });
  });
});

describe('parseMdmclientSecurityInfo', () => {
  it("reads the daemon's FileVault, firewall and SIP flags, not the agent's", () => {
    expect(parseMdmclientSecurityInfo(fixture('macos/mdmclient-QuerySecurityInfo.txt'))).toEqual({
      fileVaultEnabled: true,
      firewallEnabled: true,
      blockAllIncoming: false,
      systemIntegrityProtection: true,
    });
  });
});

describe('parseFdesetupStatus', () => {
  it('recognises the MDM form of deferred enablement, without a user name', () => {
    expect(parseFdesetupStatus('FileVault is Off.\nDeferred enablement appears to be active.\n')).toEqual({ filevault: 'off', conversion: null, deferred: true });
  });
});
