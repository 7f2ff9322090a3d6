import { describe, expect, it } from 'vitest';
import { fixture } from '../../../fixtures/load-fixture.js';
import { recordedProbeContext, RECORDING_DEFAULT_NOW } from '../probe.js';
import { linuxOs } from './os.js';
import { parseEnvFile } from './parse-env-file.js';

const collected_at = RECORDING_DEFAULT_NOW / 1000;
const host = { kernel: '6.8.0-45-generic', arch: 'x64' };

function osFrom(files: Record<string, string>) {
  return linuxOs(recordedProbeContext({ ...host, files }));
}

function expected(id: string, name: string, version: string, build: string | null = null) {
  return { status: 'ok', collected_at, platform: 'linux', id, name, version, build, kernel: host.kernel, arch: host.arch };
}

describe('linux os section', () => {
  it.each([
    ['os-release-alpine.txt', expected('alpine', 'Alpine Linux', '3.23.2')],
    ['os-release-amazon-2023.txt', expected('amzn', 'Amazon Linux', '2023')],
    ['os-release-debian-13.txt', expected('debian', 'Debian GNU/Linux', '13')],
    ['os-release-linuxmint-17.txt', expected('ubuntu', 'Ubuntu', '14.04')],
    ['os-release-opensuse-15.txt', expected('opensuse-leap', 'openSUSE Leap', '15.2')],
    ['os-release-rhel-9.txt', expected('rhel', 'Red Hat Enterprise Linux', '9.6')],
    ['os-release-rocky-9.txt', expected('rocky', 'Rocky Linux', '9.3')],
    ['os-release-ubuntu-24.04.txt', expected('ubuntu', 'Ubuntu', '24.04')],
  ])('reads ID, NAME and VERSION_ID from /etc/os-release (%s)', async (file, section) => {
    expect(await osFrom({ '/etc/os-release': fixture(`linux/${file}`) })).toEqual(section);
  });

  it('reports Debian testing, which has no VERSION_ID, as a rolling version', async () => {
    const section = await osFrom({ '/etc/os-release': fixture('linux/os-release-debian-testing-no-VERSION_ID.txt') });
    expect(section).toEqual(expected('debian', 'Debian GNU/Linux', 'rolling'));
  });

  it('falls back to /usr/lib/os-release when /etc/os-release is missing (Fedora)', async () => {
    const section = await osFrom({ '/usr/lib/os-release': fixture('linux/os-release-fedora-42-usr-lib.txt') });
    expect(section).toEqual(expected('fedora', 'Fedora Linux', '42'));
  });

  it('prefers /etc/os-release over /usr/lib/os-release when both exist', async () => {
    const section = await osFrom({
      '/etc/os-release': fixture('linux/os-release-rocky-9.txt'),
      '/usr/lib/os-release': fixture('linux/os-release-fedora-42-usr-lib.txt'),
    });
    expect(section).toMatchObject({ id: 'rocky', version: '9.3' });
  });

  it('uses BUILD_ID as version and build for a rolling release such as Arch', async () => {
    // Arch's os-release, written out here: it has BUILD_ID=rolling and no VERSION_ID.
    const arch = 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n';
    expect(await osFrom({ '/etc/os-release': arch })).toEqual(expected('arch', 'Arch Linux', 'rolling', 'rolling'));
  });

  it('falls back to /etc/lsb-release when there is no os-release at all', async () => {
    expect(await osFrom({ '/etc/lsb-release': fixture('linux/lsb-release-ubuntu-24.04.txt') })).toEqual(expected('ubuntu', 'Ubuntu', '24.04'));
  });

  it("prefers os-release's ID and NAME over lsb-release's DISTRIB_ID, unlike systeminformation", async () => {
    const section = await osFrom({
      '/etc/os-release': fixture('linux/os-release-linuxmint-17.txt'),
      '/etc/lsb-release': fixture('linux/lsb-release-ubuntu-24.04.txt'),
    });
    expect(section).toEqual(expected('ubuntu', 'Ubuntu', '14.04'));
  });

  it('reports an error section when no release file can be read', async () => {
    expect(await osFrom({})).toEqual({
      status: 'error',
      collected_at,
      error: 'cannot read /etc/os-release, /usr/lib/os-release or /etc/lsb-release',
    });
  });
});

describe('parseEnvFile', () => {
  it('unquotes single and double quoted values and unescapes double-quoted ones', () => {
    const text = 'A="x \\"y\\" \\\\ z"\nB=\'raw $x\'\n# C=comment\nD=plain\n  E = bad\nA2=""\n';
    expect(parseEnvFile(text)).toEqual({ A: 'x "y" \\ z', B: 'raw $x', D: 'plain', A2: '' });
  });

  it('lets a later assignment win, as a shell would', () => {
    expect(parseEnvFile('ID=a\nID=b\n')).toEqual({ ID: 'b' });
  });
});
