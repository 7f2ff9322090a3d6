import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli } from '@postern/testkit/cli';
import { FakeDevice } from '@postern/testkit/fake-device';
import { fakePosture } from '@postern/testkit/postures';
import { ServerProcess } from '@postern/testkit/server-process';

interface Listed {
  devices: Array<{ device_id: string; group: string; verdict: string; change_ref: string | null }>;
}

describe('postern-server device list, narrowed by the fleet search', () => {
  let server: ServerProcess;
  let laptop: FakeDevice;
  let host: FakeDevice;
  const list = async (args: string[]) => {
    const run = await adminCli(server, ['device', 'list', ...args]);
    expect(run.code, run.stderr).toBe(0);
    return run.stdout;
  };
  const ids = async (args: string[]) => (JSON.parse(await list([...args, '--json'])) as Listed).devices.map((d) => d.device_id).sort();

  beforeAll(async () => {
    server = await ServerProcess.start('pglite');
    // A compliant laptop of employees, and a server with its firewall off under change CHG-9001.
    laptop = await FakeDevice.create({ platform: 'linux' });
    expect((await laptop.enroll(server.url, await server.enrollmentToken({ group: 'employees' }))).status).toBe(201);
    (await laptop.report(server.url, fakePosture({ platform: 'linux' }))).session.close();
    host = await FakeDevice.create({ platform: 'linux' });
    expect((await host.enroll(server.url, await server.enrollmentToken({ group: 'servers' }))).status).toBe(201);
    (await host.report(server.url, fakePosture({ platform: 'linux', failing: ['firewall'] }))).session.close();
    expect((await adminCli(server, ['device', 'set-change-ref', host.deviceId, 'CHG-9001'])).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('finds a device by a prefix of its change reference, hostname or id, and prints the same table', async () => {
    const table = await list(['--search', 'chg-90']);
    expect(table).toMatch(/^DEVICE\s+HOSTNAME\s+PLATFORM\s+GROUP\s+OWNER\s+CHANGE\s+STATUS\s+VERDICT\s+SCORE\s+LAST SEEN/);
    expect(table).toMatch(new RegExp(`${host.deviceId}\\s+${host.hostname}\\s+linux\\s+servers\\s+-\\s+CHG-9001\\s+active`));
    expect(table).not.toContain(laptop.deviceId);
    expect(await ids(['--search', laptop.hostname.slice(0, 10)])).toEqual([laptop.deviceId]);
    expect(await ids(['--search', host.deviceId.slice(0, 8)])).toContain(host.deviceId);
    expect(await ids(['--search', 'CHG-91'])).toEqual([]);
  });

  it('filters by verdict and group, alone or together, and lists everything without a filter', async () => {
    expect(await ids(['--verdict', 'compliant'])).toEqual([laptop.deviceId]);
    expect(await ids(['--verdict', 'compliant,noncompliant'])).toEqual([laptop.deviceId, host.deviceId].sort());
    expect(await ids(['--group', 'servers'])).toEqual([host.deviceId]);
    expect(await ids(['--group', 'servers', '--verdict', 'compliant'])).toEqual([]);
    expect(await ids([])).toEqual([laptop.deviceId, host.deviceId].sort());
  });

  it('refuses a verdict that does not exist before asking the server', async () => {
    const run = await adminCli(server, ['device', 'list', '--verdict', 'compliant,green']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/green is not a verdict: give compliant, grace, noncompliant/);
  });
});
