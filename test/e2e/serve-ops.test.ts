import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli, cli } from '@postern/testkit/cli';
import { FakeDevice } from '@postern/testkit/fake-device';
import { serverBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';
import { createTestCa, hasOpenssl, type TestCa } from '@postern/testkit/tls/test-ca';


describe('one server per data directory', () => {
  let first: ServerProcess;
  beforeAll(async () => {
    first = await ServerProcess.start('pglite');
  });
  afterAll(() => first?.stop());

  it('refuses a second serve on the same directory at once, naming the first one, and leaves the first running', async () => {
    const infoBefore = await readFile(join(first.db.dataDir, 'server.json'), 'utf8');
    const started = Date.now();
    const second = await cli(serverBin, ['serve', '--port', '0', '--data', first.db.dataDir]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain(first.url);
    expect(second.stdout).not.toContain('ready at');
    // The first keeps serving, and its server.json is untouched.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(await readFile(join(first.db.dataDir, 'server.json'), 'utf8')).toBe(infoBefore);
  });

  it('takes over a lock left by a process that is gone, and removes it on exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-stale-'));
    try {
      // Above the kernel's pid_max: no process has this pid.
      await writeFile(join(dir, 'server.lock'), '99999999\n');
      const child = spawn(process.execPath, [serverBin, 'serve', '--port', '0', '--data', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POSTERN_LOG_LEVEL: 'warn' } });
      const exited = new Promise((done) => child.once('exit', done));
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await expect.poll(() => out, { timeout: 30_000 }).toContain('ready at');
      expect((await readFile(join(dir, 'server.lock'), 'utf8')).trim()).toBe(String(child.pid));
      child.kill('SIGTERM');
      await exited;
      expect(existsSync(join(dir, 'server.lock'))).toBe(false);
      expect(existsSync(join(dir, 'server.json'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('serve on a data directory it cannot use', () => {
  let file: string;
  beforeAll(async () => {
    file = join(await mkdtemp(join(tmpdir(), 'postern-file-')), 'plain-file');
    await writeFile(file, 'not a directory\n');
  });

  const cases: Array<[string, () => string, RegExp]> = [
    ['a regular file', () => file, /is a regular file, not a directory/],
    ['a path under a regular file', () => join(file, 'data'), /is a regular file, not a directory/],
    ['/dev/null', () => '/dev/null', /is a device, not a directory/],
    ['a path under /proc', () => '/proc/postern-test', /cannot create the data directory \/proc\/postern-test/],
  ];
  it.each(cases)('fails at once on %s, saying why and what to do', async (_name, path, reason) => {
    const started = Date.now();
    const result = await cli(serverBin, ['serve', '--port', '0', '--data', path()]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(reason);
    expect(result.stderr).toContain('pass --data DIR');
  });
});

describe.skipIf(!(await hasOpenssl()))('serve with a TLS certificate', () => {
  let dir: string;
  let testCa: TestCa;
  let ca: string;
  let server: ServerProcess;
  let stderr = '';
  const certFile = () => join(dir, 'server.pem');
  const keyFile = () => join(dir, 'server.key');

  /** A leaf certificate for 127.0.0.1 signed by the test's CA, written as `name`.pem / .key. */
  async function issue(name: string): Promise<string> {
    const issued = await testCa.issue(['127.0.0.1', 'localhost']);
    await copyFile(issued.certFile, join(dir, `${name}.pem`));
    await copyFile(issued.keyFile, join(dir, `${name}.key`));
    return new X509Certificate(issued.cert).fingerprint256;
  }

  function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(`${server.url}${path}`, { ca, method, headers }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  function servedFingerprint(): Promise<string> {
    const { hostname, port } = new URL(server.url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), ca }, () => {
        resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      });
      socket.on('error', reject);
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-tls-'));
    testCa = await createTestCa();
    ca = testCa.caPem;
    await issue('one');
    await copyFile(join(dir, 'one.pem'), certFile());
    await copyFile(join(dir, 'one.key'), keyFile());
    server = await ServerProcess.start('pglite', { POSTERN_TLS_CERT: certFile(), POSTERN_TLS_KEY: keyFile(), POSTERN_LOG_LEVEL: 'info' });
    server.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await testCa?.cleanup();
  });

  it('serves HTTPS with HSTS, and prints an https:// URL', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000');
    const missing = await get('/no-such-route');
    expect(missing.status).toBe(404);
    expect(missing.headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('streams a device over wss, and a SIGHUP serves a new certificate to new connections while the open stream stays up', async () => {
    const created = await get('/v1/admin/enrollment-tokens', { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }, 'POST', JSON.stringify({ group: 'employees' }));
    expect(created.status).toBe(201);
    const device = await FakeDevice.create();
    const enrolled = await get('/v1/enroll', { 'content-type': 'application/json' }, 'POST', JSON.stringify({ request: await device.enrollmentRequest((JSON.parse(created.body) as { token: string }).token) }));
    expect(enrolled.status).toBe(201);
    device.deviceId = (JSON.parse(enrolled.body) as { device_id: string }).device_id;
    const session = await device.connect(server.url, { ca });
    expect((await session.attest(await device.evidence(session.nonce))).type).toBe('result');

    const before = await servedFingerprint();
    const renewed = await issue('two');
    expect(renewed).not.toBe(before);
    await copyFile(join(dir, 'two.pem'), certFile());
    await copyFile(join(dir, 'two.key'), keyFile());
    server.child.kill('SIGHUP');
    await expect.poll(() => stderr, { timeout: 5_000 }).toContain('reloaded the TLS certificate');
    expect(await servedFingerprint()).toBe(renewed);
    // The stream opened before the reload still answers.
    expect((await session.attest(await device.evidence(session.nonce))).type).toBe('result');

    // A broken file on reload is logged and the current certificate kept.
    await writeFile(certFile(), 'not a certificate\n');
    server.child.kill('SIGHUP');
    await expect.poll(() => stderr, { timeout: 5_000 }).toContain('kept the previous TLS certificate');
    expect(stderr).toContain(certFile());
    expect(await servedFingerprint()).toBe(renewed);
    expect((await get('/healthz')).status).toBe(200);
    session.close();
  });

  it('refuses to start with a certificate file that is not one, or a key of another certificate, naming the file', async () => {
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, 'hello\n');
    const bad = await cli(serverBin, ['serve', '--port', '0', '--data', join(dir, 'data-bad'), '--tls-cert', garbage, '--tls-key', join(dir, 'one.key')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`the TLS certificate ${garbage} is not a PEM certificate`);
    const mismatch = await cli(serverBin, ['serve', '--port', '0', '--data', join(dir, 'data-mismatch'), '--tls-cert', join(dir, 'one.pem'), '--tls-key', join(dir, 'two.key')]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toContain('does not belong to the certificate');
    const half = await cli(serverBin, ['serve', '--port', '0', '--data', join(dir, 'data-half'), '--tls-cert', join(dir, 'one.pem')]);
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('--tls-cert was given without --tls-key');
  });
});

describe('admin commands a person can act on', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start('pglite');
  });
  afterAll(() => server?.stop());

  it('refuses moving a device to a group nothing names unless --create, naming the groups that exist', async () => {
    const device = await FakeDevice.create();
    await device.enroll(server.url, await server.enrollmentToken({ group: 'employees' }));
    const typo = await adminCli(server, ['device', 'set-group', device.deviceId, 'contractros']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('no group "contractros"');
    expect(typo.stderr).toMatch(/Groups that exist: .*employees/);
    expect(typo.stderr).toContain('--create');
    const api = await fetch(`${server.url}/v1/admin/devices/${device.deviceId}/group`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ group: 'contractros' }),
    });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: 'unknown_group', groups: expect.arrayContaining(['employees', 'default']) });
    expect((await server.admin<{ group: string }>('GET', `/v1/admin/devices/${device.deviceId}`)).group).toBe('employees');

    const created = await adminCli(server, ['device', 'set-group', device.deviceId, 'contractors', '--create']);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('is now in group contractors');
    // Once a device is in it, the group exists: moving another there needs no --create.
    const other = await FakeDevice.create();
    await other.enroll(server.url, await server.enrollmentToken({ group: 'employees' }));
    expect((await adminCli(server, ['device', 'set-group', other.deviceId, 'contractors'])).code).toBe(0);
  });

  it('says the bounds of a value in words, and a usage error exits 2 before anything is sent', async () => {
    const short = await adminCli(server, ['token', 'create', '--group', 'employees', '--expires', '1s']);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('at least 1 minute');
    expect(short.stderr).not.toContain('expires_in_s');
    expect((await adminCli(server, ['token', 'create', '--group', 'employees', '--uses', '0'])).code).toBe(2);
    expect((await cli(serverBin, ['no-such-command'])).code).toBe(2);
    const help = await cli(serverBin, ['token', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/at\s+least 1 minute, at most 1 year/);
    expect(help.stdout).toContain('Exit status');
  });

  it('exits 1 when the server refuses, 3 when there is no server to ask, and prints its version', async () => {
    const refused = await adminCli(server, ['device', 'approve', '00000000-0000-4000-8000-000000000000']);
    expect(refused.code).toBe(1);
    const unreachable = await cli(serverBin, ['device', 'list', '--server', 'http://127.0.0.1:1'], { POSTERN_ADMIN_TOKEN: 'pat_x' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('cannot reach postern-server at http://127.0.0.1:1');
    const version = await cli(serverBin, ['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
