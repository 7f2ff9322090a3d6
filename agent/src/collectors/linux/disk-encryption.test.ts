import { describe, expect, it } from 'vitest';
import { fixture, transcriptOutput } from '../../../fixtures/load-fixture.js';
import { commandLine, recordedProbeContext, RECORDING_DEFAULT_NOW, type ProbeRecording, type RecordedExec } from '../probe.js';
import { LSBLK_JSON_ARGS, linuxDiskEncryption } from './disk-encryption.js';
import { parseCryptsetupStatus, parseLuksDump } from './parse-cryptsetup.js';
import { parseLsblkTree } from './parse-lsblk.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const LSBLK_JSON = commandLine('lsblk', LSBLK_JSON_ARGS);
/** What util-linux older than 2.27 answers to -J; the probe then reads the plain tree table. */
const LSBLK_WITHOUT_JSON: RecordedExec = {
  code: 1,
  stdout: '',
  stderr: "lsblk: invalid option -- 'J'\nTry 'lsblk --help' for more information.\n",
};
const plain = { encrypted: false, method: null, state: 'off' };
const luks = (method: string) => ({ encrypted: true, method, state: 'on' });

function probe(recording: ProbeRecording) {
  return linuxDiskEncryption(recordedProbeContext(recording));
}
function ok(...volumes: object[]) {
  return { status: 'ok', collected_at, volumes };
}
function error(reason: string) {
  return { status: 'error', collected_at, error: reason };
}

/** lsblk -J as this agent asks for it, written out for layouts no fixture captured. */
type Node = { name: string; kname?: string; 'maj:min': string; type: string; fstype?: string | null; mountpoint?: string | null; children?: Node[] };
function lsblkJson(...blockdevices: Node[]): string {
  const fill = (n: Node): Node => ({
    kname: n.name,
    fstype: null,
    mountpoint: null,
    ...n,
    ...(n.children ? { children: n.children.map(fill) } : {}),
  });
  return JSON.stringify({ blockdevices: blockdevices.map(fill) }, null, 3);
}

/** A /proc/self/mountinfo line. */
function mi(id: number, majMin: string, root: string, mountPoint: string, fsType: string, source: string, superOptions = 'rw'): string {
  return `${id} 1 ${majMin} ${root} ${mountPoint} rw,relatime shared:${id} - ${fsType} ${source} ${superOptions}`;
}

/** The Pop!_OS layout of lsblk-tree-luks-lvm-popos.txt as `lsblk -J` prints it, with the LUKS header visible. */
const popOsJson = lsblkJson({
  name: 'nvme0n1',
  'maj:min': '259:0',
  type: 'disk',
  children: [
    { name: 'nvme0n1p1', 'maj:min': '259:1', type: 'part', fstype: 'vfat', mountpoint: '/boot/efi' },
    { name: 'nvme0n1p2', 'maj:min': '259:2', type: 'part', fstype: 'vfat', mountpoint: '/recovery' },
    {
      name: 'nvme0n1p3',
      'maj:min': '259:3',
      type: 'part',
      fstype: 'crypto_LUKS',
      children: [
        {
          name: 'cryptdata',
          kname: 'dm-0',
          'maj:min': '253:0',
          type: 'crypt',
          fstype: 'LVM2_member',
          children: [{ name: 'data-root', kname: 'dm-1', 'maj:min': '253:1', type: 'lvm', fstype: 'ext4', mountpoint: '/' }],
        },
      ],
    },
    {
      name: 'nvme0n1p4',
      'maj:min': '259:4',
      type: 'part',
      children: [{ name: 'cryptswap', kname: 'dm-2', 'maj:min': '253:2', type: 'crypt', fstype: 'swap', mountpoint: '[SWAP]' }],
    },
  ],
});

describe('linux disk encryption section', () => {
  it('reports the root volume as encrypted when it sits on LVM on LUKS (Pop!_OS, root reads the LUKS version)', async () => {
    const section = await probe({
      isPrivileged: true,
      commands: {
        [LSBLK_JSON]: LSBLK_WITHOUT_JSON,
        lsblk: transcriptOutput(fixture('linux/lsblk-tree-luks-lvm-popos.txt'), 'lsblk'),
        'cryptsetup status cryptdata': fixture('linux/cryptsetup-status-luks2-active.txt'),
      },
    });
    expect(section).toEqual(
      ok({ mount: '/', ...luks('luks2'), system: true }, { mount: '/boot/efi', ...plain }, { mount: '/recovery', ...plain }),
    );
  });

  it('reports the root volume as encrypted when it sits on LVM on LUKS (xubuntu, LUKS1)', async () => {
    const section = await probe({
      isPrivileged: true,
      commands: {
        [LSBLK_JSON]: LSBLK_WITHOUT_JSON,
        lsblk: transcriptOutput(fixture('linux/lsblk-tree-luks-lvm-xubuntu-and-dev-mapper.txt'), 'lsblk'),
        'cryptsetup status nvme0n1p3_crypt': fixture('linux/cryptsetup-status-luks1-active.txt'),
      },
    });
    expect(section).toEqual(ok({ mount: '/', ...luks('luks1'), system: true }));
  });

  it('says dm-crypt rather than guessing LUKS when neither root nor a LUKS signature is available', async () => {
    const section = await probe({
      isPrivileged: false,
      commands: { [LSBLK_JSON]: LSBLK_WITHOUT_JSON, lsblk: transcriptOutput(fixture('linux/lsblk-tree-luks-lvm-popos.txt'), 'lsblk') },
    });
    expect(section).toMatchObject({ volumes: [{ mount: '/', ...luks('dm-crypt'), system: true }, {}, {}] });
  });

  it('reports "luks" without root when lsblk shows the crypto_LUKS signature', async () => {
    const section = await probe({ isPrivileged: false, commands: { [LSBLK_JSON]: popOsJson } });
    expect(section).toEqual(
      ok({ mount: '/', ...luks('luks'), system: true }, { mount: '/boot/efi', ...plain }, { mount: '/recovery', ...plain }),
    );
  });

  it('reports LUKS2 with hardware OPAL encryption as encrypted, which osquery reads as "not encrypted" (osquery#8402)', async () => {
    const header = opalHeader();
    const lsblk = lsblkJson({
      name: 'nvme0n1',
      'maj:min': '259:0',
      type: 'disk',
      children: [
        {
          name: 'nvme0n1p3',
          'maj:min': '259:3',
          type: 'part',
          fstype: 'crypto_LUKS',
          children: [{ name: 'luks-2a2c7241', kname: 'dm-0', 'maj:min': '253:0', type: 'crypt', fstype: 'ext4', mountpoint: '/' }],
        },
      ],
    });
    const status = fixture('linux/cryptsetup-status-luks2-active.txt');
    const section = await probe({
      isPrivileged: true,
      commands: { [LSBLK_JSON]: lsblk, 'cryptsetup status luks-2a2c7241': status, 'cryptsetup luksDump /dev/nvme0n1p3': header },
    });
    expect(section).toEqual(ok({ mount: '/', ...luks('luks2-opal'), system: true }));
  });

  it('falls back to "luks" when cryptsetup cannot find the mapping', async () => {
    const section = await probe({
      isPrivileged: true,
      commands: { [LSBLK_JSON]: popOsJson, 'cryptsetup status cryptdata': fixture('linux/cryptsetup-status-device-not-found.txt') },
    });
    expect(section).toMatchObject({ volumes: [{ mount: '/', ...luks('luks') }, {}, {}] });
  });

  it('lists mounted filesystems from mountinfo and leaves out swap, snaps, binds and pseudo filesystems', async () => {
    const mountinfo = [
      mi(20, '0:20', '/', '/proc', 'proc', 'proc'),
      mi(21, '0:21', '/', '/run', 'tmpfs', 'tmpfs'),
      mi(22, '253:1', '/', '/', 'ext4', '/dev/mapper/data-root'),
      mi(23, '259:1', '/', '/boot/efi', 'vfat', '/dev/nvme0n1p1'),
      mi(24, '7:0', '/', '/snap/core22/1380', 'squashfs', '/dev/loop0'),
      mi(25, '253:1', '/home/me/shared', '/srv/shared', 'ext4', '/dev/mapper/data-root'),
      mi(26, '0:40', '/', '/mnt/nas', 'nfs4', 'nas:/export'),
    ].join('\n');
    const section = await probe({
      isPrivileged: false,
      files: { '/proc/self/mountinfo': mountinfo },
      commands: { [LSBLK_JSON]: popOsJson },
    });
    // /recovery is in lsblk's MOUNTPOINT column but not mounted in this namespace: mountinfo wins.
    expect(section).toEqual(ok({ mount: '/', ...luks('luks'), system: true }, { mount: '/boot/efi', ...plain }));
  });

  it('finds the root device by major:minor when mountinfo names it /dev/root', async () => {
    const section = await probe({
      files: { '/proc/self/mountinfo': mi(22, '253:1', '/', '/', 'ext4', '/dev/root') },
      commands: { [LSBLK_JSON]: popOsJson, 'cryptsetup status cryptdata': fixture('linux/cryptsetup-status-luks2-active.txt') },
    });
    expect(section).toEqual(ok({ mount: '/', ...luks('luks2'), system: true }));
  });

  it('reports btrfs directly on LUKS, one volume per mounted subvolume', async () => {
    // The two mounts of mount-grep-crypt-btrfs-on-luks.txt, as mountinfo lines.
    const mountLines = transcriptOutput(fixture('linux/mount-grep-crypt-btrfs-on-luks.txt'), 'mount | grep crypt').trim().split('\n');
    const mountinfo = mountLines.map((line, i) => {
      const [, source, mountPoint, fsType, options] = /^(\S+) on (\S+) type (\S+) \((.*)\)$/.exec(line)!;
      const subvol = /subvol=([^,]+)/.exec(options!)![1]!;
      return mi(30 + i, `0:${40 + i}`, subvol, mountPoint!, fsType!, source!, options);
    });
    const lsblk = lsblkJson({
      name: 'nvme0n1',
      'maj:min': '259:0',
      type: 'disk',
      children: [
        { name: 'nvme0n1p1', 'maj:min': '259:1', type: 'part', fstype: 'vfat' },
        {
          name: 'nvme0n1p3',
          'maj:min': '259:3',
          type: 'part',
          fstype: 'crypto_LUKS',
          children: [{ name: 'nvme0n1p3_crypt', kname: 'dm-0', 'maj:min': '253:0', type: 'crypt', fstype: 'btrfs', mountpoint: '/' }],
        },
      ],
    });
    const section = await probe({
      isPrivileged: false,
      files: { '/proc/self/mountinfo': mountinfo.join('\n') },
      commands: { [LSBLK_JSON]: lsblk },
    });
    expect(section).toEqual(ok({ mount: '/', ...luks('luks'), system: true }, { mount: '/home', ...luks('luks') }));
  });

  it('reports a plain disk as not encrypted (this development VM: / on /dev/vda ext4)', async () => {
    const section = await probe({
      files: { '/proc/self/mountinfo': fixture('linux/mountinfo-debian12-vm.txt') },
      commands: { [LSBLK_JSON]: fixture('linux/lsblk-J-debian12-vm.txt') },
    });
    expect(section).toEqual(ok({ mount: '/', ...plain, system: true }));
  });

  it('accepts lsblk -fJp output (full paths, mountpoints arrays, no TYPE column)', async () => {
    const section = await probe({ commands: { [LSBLK_JSON]: fixture('linux/lsblk-fJp.txt') } });
    expect(section).toEqual(ok({ mount: '/', ...plain, system: true }, { mount: '/boot/efi', ...plain }));
  });

  it('does not call data encrypted when an LVM volume spans one encrypted and one plain disk', async () => {
    const lv = { name: 'vg-root', kname: 'dm-1', 'maj:min': '253:1', type: 'lvm', fstype: 'ext4', mountpoint: '/' };
    const lsblk = lsblkJson(
      { name: 'sda', 'maj:min': '8:0', type: 'disk', children: [{ name: 'sda1', 'maj:min': '8:1', type: 'part', fstype: 'crypto_LUKS', children: [{ name: 'pv1', kname: 'dm-0', 'maj:min': '253:0', type: 'crypt', fstype: 'LVM2_member', children: [lv] }] }] },
      { name: 'sdb', 'maj:min': '8:16', type: 'disk', children: [{ name: 'sdb1', 'maj:min': '8:17', type: 'part', fstype: 'LVM2_member', children: [lv] }] },
    );
    expect(await probe({ isPrivileged: false, commands: { [LSBLK_JSON]: lsblk } })).toEqual(ok({ mount: '/', ...plain, system: true }));
  });

  it('calls an LVM volume encrypted when every disk under it is LUKS', async () => {
    const lv = { name: 'vg-root', kname: 'dm-2', 'maj:min': '253:2', type: 'lvm', fstype: 'ext4', mountpoint: '/' };
    const pv = (disk: string, n: number) => ({
      name: disk,
      'maj:min': `8:${n * 16}`,
      type: 'disk',
      fstype: 'crypto_LUKS',
      children: [{ name: `${disk}_crypt`, kname: `dm-${n}`, 'maj:min': `253:${n}`, type: 'crypt', fstype: 'LVM2_member', children: [lv] }],
    });
    expect(await probe({ isPrivileged: false, commands: { [LSBLK_JSON]: lsblkJson(pv('sda', 0), pv('sdb', 1)) } })).toEqual(
      ok({ mount: '/', ...luks('luks'), system: true }),
    );
  });

  it('reports ZFS native encryption per dataset and checks the pool devices of unencrypted ones', async () => {
    const mountinfo = [
      mi(40, '0:50', '/', '/', 'zfs', 'rpool/ROOT/ubuntu_abc', 'rw,xattr,posixacl'),
      mi(41, '0:51', '/', '/boot', 'zfs', 'bpool/BOOT/ubuntu_abc', 'rw,xattr,posixacl'),
      mi(42, '0:52', '/', '/home', 'zfs', 'rpool/USERDATA/home', 'rw,xattr,posixacl'),
      mi(43, '259:1', '/', '/boot/efi', 'vfat', '/dev/nvme0n1p1'),
    ].join('\n');
    const lsblk = lsblkJson({
      name: 'nvme0n1',
      'maj:min': '259:0',
      type: 'disk',
      children: [
        { name: 'nvme0n1p1', 'maj:min': '259:1', type: 'part', fstype: 'vfat', mountpoint: '/boot/efi' },
        { name: 'nvme0n1p3', 'maj:min': '259:3', type: 'part', fstype: 'zfs_member' },
        { name: 'nvme0n1p4', 'maj:min': '259:4', type: 'part', fstype: 'zfs_member' },
      ],
    });
    const section = await probe({
      files: { '/proc/self/mountinfo': mountinfo },
      commands: {
        [LSBLK_JSON]: lsblk,
        'zfs get -H -o name,value encryption rpool/ROOT/ubuntu_abc bpool/BOOT/ubuntu_abc rpool/USERDATA/home':
          'rpool/ROOT/ubuntu_abc\taes-256-gcm\nbpool/BOOT/ubuntu_abc\toff\nrpool/USERDATA/home\taes-256-gcm\n',
        'zpool list -v -H -P -L bpool': 'bpool\t1.88G\t282M\t1.60G\t-\t-\t0%\t14%\t1.00x\tONLINE\t-\n\t/dev/nvme0n1p3\t1.88G\t282M\t1.60G\t-\t-\t0%\t14.6%\t-\tONLINE\n',
      },
    });
    expect(section).toEqual(
      ok(
        { mount: '/', ...luks('zfs'), system: true },
        { mount: '/boot', ...plain },
        { mount: '/boot/efi', ...plain },
        { mount: '/home', ...luks('zfs') },
      ),
    );
  });

  it('reports a ZFS pool built on LUKS mappings as encrypted', async () => {
    const lsblk = lsblkJson({
      name: 'sda',
      'maj:min': '8:0',
      type: 'disk',
      fstype: 'crypto_LUKS',
      children: [{ name: 'luks-tank', kname: 'dm-0', 'maj:min': '253:0', type: 'crypt', fstype: 'zfs_member' }],
    });
    const section = await probe({
      isPrivileged: false,
      files: { '/proc/self/mountinfo': mi(40, '0:50', '/', '/', 'zfs', 'tank/root') },
      commands: {
        [LSBLK_JSON]: lsblk,
        'zfs get -H -o name,value encryption tank/root': 'tank/root\toff\n',
        'zpool list -v -H -P -L tank': 'tank\t100G\t1G\t99G\t-\t-\t0%\t1%\t1.00x\tONLINE\t-\n\tmirror-0\t100G\t1G\t99G\t-\t-\t0%\t1%\t-\tONLINE\n\t/dev/dm-0\t-\t-\t-\t-\t-\t-\t-\t-\tONLINE\n',
      },
    });
    expect(section).toEqual(ok({ mount: '/', ...luks('luks'), system: true }));
  });

  it('reports an error instead of guessing when the ZFS encryption of / cannot be read', async () => {
    const section = await probe({
      files: { '/proc/self/mountinfo': mi(40, '0:50', '/', '/', 'zfs', 'rpool/ROOT/x') },
      commands: { [LSBLK_JSON]: lsblkJson({ name: 'sda', 'maj:min': '8:0', type: 'disk' }) },
    });
    expect(section).toEqual(error('cannot read ZFS encryption of rpool/ROOT/x: zfs not found'));
  });

  it('reports an error when / is an overlay, as in a container', async () => {
    const section = await probe({
      files: {
        '/proc/self/mountinfo': mi(500, '0:60', '/', '/', 'overlay', 'overlay', 'rw,lowerdir=/var/lib/docker/overlay2/l/ABC,upperdir=/u,workdir=/w'),
      },
      commands: { [LSBLK_JSON]: fixture('linux/lsblk-J-debian12-vm.txt') },
    });
    expect(section).toEqual(error('/ is on overlay (overlay), not a block device: run the agent on the host, not in a container'));
  });

  it('reports an error when the device of / is not in lsblk output', async () => {
    const section = await probe({
      files: { '/proc/self/mountinfo': mi(27, '259:7', '/', '/', 'ext4', '/dev/nvme1n1p2') },
      commands: { [LSBLK_JSON]: fixture('linux/lsblk-J-debian12-vm.txt') },
    });
    expect(section).toEqual(error('cannot find the device of / (/dev/nvme1n1p2) in lsblk output'));
  });

  it('reports an error saying what to install when lsblk is missing', async () => {
    const section = await probe({ files: { '/proc/self/mountinfo': fixture('linux/mountinfo-debian12-vm.txt') } });
    expect(section).toEqual(error('lsblk not found: install util-linux'));
  });

  it('reports an error when lsblk fails in both its JSON and table forms', async () => {
    const failed = { code: 32, stdout: '', stderr: 'lsblk: failed to access sysfs directory: /sys/dev/block: No such file or directory\n' };
    const section = await probe({ commands: { [LSBLK_JSON]: failed, lsblk: failed } });
    expect(section).toEqual(error('lsblk exited with code 32: lsblk: failed to access sysfs directory: /sys/dev/block: No such file or directory'));
  });
});

describe('parseCryptsetupStatus', () => {
  it.each([
    ['cryptsetup-status-luks1-active.txt', { active: true, method: 'luks1' }],
    ['cryptsetup-status-luks2-active.txt', { active: true, method: 'luks2' }],
    ['cryptsetup-status-plain-active-not-in-use.txt', { active: true, method: 'plain' }],
    ['cryptsetup-status-verbose-luks1-command-successful.txt', { active: true, method: 'luks1' }],
    ['cryptsetup-status-inactive.txt', { active: false, method: null }],
  ])('reads the state and type of %s', (file, expected) => {
    expect(parseCryptsetupStatus(fixture(`linux/${file}`))).toEqual(expected);
  });

  it('returns null for "Device … not found" rather than a state', () => {
    expect(parseCryptsetupStatus(fixture('linux/cryptsetup-status-device-not-found.txt'))).toBeNull();
  });
});

/** The `cryptsetup luksDump` half of the osquery#8402 capture, without the prompt and osquery's row. */
function opalHeader(): string {
  const text = fixture('linux/cryptsetup-luksDump-luks2-hw-opal-osquery-says-not-encrypted.txt');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes('cryptsetup luksDump /dev/nvme0n1p3')) + 1;
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return `${lines.slice(start, end).join('\n')}\n`;
}

describe('parseLuksDump', () => {
  it('reads the version and the OPAL subsystem of a LUKS2 header', () => {
    expect(parseLuksDump(opalHeader())).toEqual({ version: 2, opal: true });
    expect(parseLuksDump('LUKS header information\nVersion:        2\nSubsystem:      (no subsystem)\nFlags:          (no flags)\n')).toEqual({ version: 2, opal: false });
  });

  it("does not read osquery's row as a header", () => {
    expect(parseLuksDump('encrypted = 0\nencryption_status = not encrypted\n')).toBeNull();
  });
});

describe('parseLsblkTree', () => {
  it('rebuilds parents from the tree drawing and ignores lines that are not devices', () => {
    const graph = parseLsblkTree(transcriptOutput(fixture('linux/lsblk-tree-luks-lvm-xubuntu-and-dev-mapper.txt'), 'lsblk'))!;
    expect([...graph.values()].map((d) => [d.name, d.type, d.majMin, d.parents, d.mountPoints])).toEqual([
      ['nvme0n1', 'disk', '259:0', [], []],
      ['nvme0n1p3', 'part', '259:3', ['nvme0n1'], []],
      ['nvme0n1p3_crypt', 'crypt', '253:0', ['nvme0n1p3'], []],
      ['xubuntu--vg-root', 'lvm', '253:1', ['nvme0n1p3_crypt'], ['/']],
      ['xubuntu--vg-swap_1', 'lvm', '253:2', ['nvme0n1p3_crypt'], ['[SWAP]']],
    ]);
  });

  it('attaches the extra rows of a MOUNTPOINTS column to the device above', () => {
    const text = ['NAME   MAJ:MIN RM  SIZE RO TYPE MOUNTPOINTS', 'sda      8:0    0  100G  0 disk ', '└─sda1   8:1    0  100G  0 part /', '                                /home'].join('\n');
    expect(parseLsblkTree(text)!.get('sda1')!.mountPoints).toEqual(['/', '/home']);
  });
});
