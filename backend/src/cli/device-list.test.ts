import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '@postern/testkit/cli';
import { testDatabase, type TestDatabase } from '@postern/testkit/databases';
import { FakeDevice } from '@postern/testkit/fake-device';
import { serverBin } from '@postern/testkit/paths';
import { fakePosture } from '@postern/testkit/postures';
import { settingsFromEnv } from '../config.js';
import { createLogger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../server.js';

interface Listed {
  devices: Array<{ device_id: string; group: string; verdict: string; change_ref: string | null }>;
}

// Each case runs the CLI several times, a Node start each: more time than one request needs.
describe('postern-server device list, narrowed by the fleet search', { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let server: RunningServer;
  let token: string;
  let laptop: FakeDevice;
  let host: FakeDevice;
  /** The CLI as a real process, pointed at the server as an operator's laptop would be. */
  const admin = (args: string[]) => cli(serverBin, [...args, '--server', server.url], { POSTERN_ADMIN_TOKEN: token });
  const adminPost = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    return (await response.json()) as { token: string };
  };
  const enrollmentToken = async (group: string) => (await adminPost('/v1/admin/enrollment-tokens', { group })).token;
  const list = async (args: string[]) => {
    const run = await admin(['device', 'list', ...args]);
    expect(run.code, run.stderr).toBe(0);
    return run.stdout;
  };
  const ids = async (args: string[]) => (JSON.parse(await list([...args, '--json'])) as Listed).devices.map((d) => d.device_id).sort();

  beforeAll(async () => {
    database = await testDatabase('pglite');
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: database.dataDir, databaseUrl: database.databaseUrl, publicUrl: undefined, trustProxy: false, settings: settingsFromEnv({}) }, { log: createLogger('silent') });
    token = (await readFile(server.adminTokenPath, 'utf8')).trim();
    // A compliant laptop of employees, and a server with its firewall off under change CHG-9001.
    laptop = await FakeDevice.create({ platform: 'linux' });
    expect((await laptop.enroll(server.url, await enrollmentToken('employees'))).status).toBe(201);
    (await laptop.report(server.url, fakePosture({ platform: 'linux' }))).session.close();
    host = await FakeDevice.create({ platform: 'linux' });
    expect((await host.enroll(server.url, await enrollmentToken('servers'))).status).toBe(201);
    (await host.report(server.url, fakePosture({ platform: 'linux', failing: ['firewall'] }))).session.close();
    await adminPost(`/v1/admin/devices/${host.deviceId}/change-ref`, { change_ref: 'CHG-9001' });
  });
  afterAll(async () => {
    await server?.close().catch(() => undefined);
    await database?.cleanup();
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
    const run = await admin(['device', 'list', '--verdict', 'compliant,green']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/green is not a verdict: give compliant, grace, noncompliant/);
  });
});
