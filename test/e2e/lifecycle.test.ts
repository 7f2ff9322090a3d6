import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminCli, cli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { agentBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

interface DeviceJson {
  device_id: string;
  kid: string;
  status: string;
  owner: string | null;
  change_ref: string | null;
  expires_at: number | null;
  relink_of: string | null;
  pending_kid: string | null;
}

/** Each of these runs the real agent several times, collecting this machine's posture: slow on a shared machine. */
const SLOW = 120_000;

const exists = (path: string) => stat(path).then(() => true, () => false);

describe.each(databaseKinds)('the device lifecycle through the real CLIs on %s', (kind) => {
  let server: ServerProcess;
  const dirs: string[] = [];
  const admin = (args: string[]) => adminCli(server, args);
  const adminJson = async <T = Record<string, unknown>>(args: string[]): Promise<T> => {
    const result = await admin([...args, '--json']);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    return JSON.parse(result.stdout) as T;
  };
  const stateDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postern-life-'));
    dirs.push(dir);
    return dir;
  };
  const agent = (state: string, args: string[], env: Record<string, string> = {}) => cli(agentBin, [...args, '--state', state], env);
  const show = (id: string) => adminJson<DeviceJson>(['device', 'show', id]);
  const localKid = async (state: string) => (JSON.parse(await readFile(join(state, 'device.json'), 'utf8')) as { kid: string }).kid;

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
  });
  afterAll(async () => {
    await server?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  let first: { state: string; id: string };
  let second: { state: string; id: string };

  it('lists tokens without their secret and revokes one: an agent enrolling with it is told it was revoked', async () => {
    const made = await adminJson<{ token: string; id: string }>(['token', 'create', '--group', 'servers', '--owner', 'ops@example.com', '--change-ref', 'CHG-1']);
    const listed = await admin(['token', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`${made.id}\\s+servers\\s+ops@example.com\\s+CHG-1\\s+1/1`));
    expect(listed.stdout + JSON.stringify(await adminJson(['token', 'list', '--all']))).not.toContain(made.token);
    const revoked = await admin(['token', 'revoke', made.id]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toBe(`enrollment token ${made.id} (group servers) is revoked\n`);
    const enroll = await agent(await stateDir(), ['enroll', '--server', server.url, '--token', made.token]);
    expect(enroll.code).toBe(1);
    expect(enroll.stderr).toMatch(/the enrollment token was revoked .*ask your administrator for a new one/);
    expect((await admin(['token', 'list'])).stdout).not.toContain(made.id);
    expect((await admin(['token', 'list', '--all'])).stdout).toMatch(new RegExp(`${made.id}.*revoked by admin:initial`));
  }, SLOW);

  it("enforces a group's owner, change reference and lifetime on tokens, and keeps them on the device", async () => {
    const set = await admin(['group', 'set', 'servers', '--require-owner', 'yes', '--require-change-ref', 'yes', '--max-device-lifetime', '30d']);
    expect(set.stdout).toBe('group servers: max device lifetime 30 days, owner required, change reference required\n');
    const noOwner = await admin(['token', 'create', '--group', 'servers', '--change-ref', 'CHG-2', '--device-ttl', '10d']);
    expect(noOwner.code).toBe(1);
    expect(noOwner.stderr).toMatch(/group "servers" requires an owner on its tokens/);
    const tooLong = await admin(['token', 'create', '--group', 'servers', '--owner', 'ops@example.com', '--change-ref', 'CHG-2', '--device-ttl', '60d']);
    expect(tooLong.stderr).toMatch(/at most 2592000 s of access/);
    const { token } = await adminJson<{ token: string }>(['token', 'create', '--group', 'servers', '--owner', 'ops@example.com', '--change-ref', 'CHG-2', '--device-ttl', '10d']);
    const state = await stateDir();
    const enrolled = await agent(state, ['enroll', '--server', server.url, '--token', token]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const id = JSON.parse(await readFile(join(state, 'device.json'), 'utf8')).device_id as string;
    first = { state, id };
    expect(await show(id)).toMatchObject({ owner: 'ops@example.com', change_ref: 'CHG-2', status: 'active' });
    expect((await admin(['device', 'list'])).stdout).toMatch(new RegExp(`${id}.*servers\\s+ops@example.com\\s+CHG-2\\s+active`));

    expect((await admin(['device', 'set-owner', id, 'dba@example.com'])).stdout).toBe(`device ${id}'s owner is now dba@example.com\n`);
    expect((await admin(['device', 'set-change-ref', id, 'CHG-3'])).stdout).toBe(`device ${id}'s change reference is now CHG-3\n`);
    const extended = await admin(['device', 'extend', id, '--until', '20d']);
    expect(extended.code, extended.stderr).toBe(0);
    expect((await show(id)).expires_at).toBeGreaterThan(Date.now() / 1000 + 19 * 86400);
    const beyond = await admin(['device', 'extend', id, '--until', '40d']);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toMatch(/at most 2592000 s of access from now/);
    const kinds = (await adminJson<{ entries: Array<{ kind: string; actor: string }> }>(['audit', 'list', '--device', id])).entries.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['device.owner_changed', 'device.change_ref_changed', 'device.extended']));
  }, SLOW);

  it('requires a reason to deny', async () => {
    const { token } = await adminJson<{ token: string }>(['token', 'create', '--group', 'employees', '--approval']);
    const state = await stateDir();
    const enrolled = await agent(state, ['enroll', '--server', server.url, '--token', token]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    // This machine's device is still enrolled: this enrollment waits for a relink; deny it.
    expect(enrolled.stdout).toMatch(/This machine was already enrolled as device .*postern-server device relink/);
    const id = JSON.parse(await readFile(join(state, 'device.json'), 'utf8')).device_id as string;
    const bare = await admin(['device', 'deny', id]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/--reason/);
    expect((await admin(['device', 'deny', id, '--reason', 'a test clone'])).stdout).toBe(`device ${id} is now revoked (denied)\n`);
  }, SLOW);

  it('holds a reinstalled machine pending until `device relink`, which revokes the device it replaces', async () => {
    const { token } = await adminJson<{ token: string }>(['token', 'create', '--group', 'servers', '--owner', 'ops@example.com', '--change-ref', 'CHG-4', '--device-ttl', '10d']);
    const state = await stateDir();
    const enrolled = await agent(state, ['enroll', '--server', server.url, '--token', token]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    const id = JSON.parse(await readFile(join(state, 'device.json'), 'utf8')).device_id as string;
    second = { state, id };
    expect(await show(id)).toMatchObject({ status: 'pending_approval', relink_of: first.id });
    expect((await admin(['device', 'approve', id])).stderr).toMatch(/device relink/);
    const relinked = await admin(['device', 'relink', id]);
    expect(relinked.stdout).toBe(`device ${id} is now active; it replaces device ${first.id}, now revoked\n`);
    expect(await show(first.id)).toMatchObject({ status: 'revoked' });
    const once = await agent(second.state, ['run', '--once']);
    expect(once.code, once.stderr + once.stdout).toBe(0);
    expect((await agent(first.state, ['run', '--once'])).code).not.toBe(0);
  }, SLOW);

  it('rotates the device key; the server then knows only the new one, and the agent reports with it', async () => {
    const before = await show(second.id);
    const rotated = await agent(second.state, ['rotate-key']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(new RegExp(`Rotated the device key of ${second.id}: ${before.kid} → \\S+\\. The old key no longer works\\.`));
    const after = await show(second.id);
    expect(after.kid).not.toBe(before.kid);
    expect(after).toMatchObject({ kid: await localKid(second.state), pending_kid: null });
    expect(await exists(join(second.state, 'device-key.next.jwk'))).toBe(false);
    expect((await stat(join(second.state, 'device-key.jwk'))).mode & 0o777).toBe(0o600);
    const once = await agent(second.state, ['run', '--once']);
    expect(once.code, once.stderr + once.stdout).toBe(0);
  }, SLOW);

  it.each(['before-send', 'after-start', 'before-confirm', 'after-confirm', 'after-state'])('never locks the device out when the agent is killed %s: the next run finishes the rotation and reports', async (step) => {
    const before = await show(second.id);
    const killed = await agent(second.state, ['rotate-key'], { POSTERN_AGENT_FAILPOINT: `rotation:${step}` });
    expect(killed.code).not.toBe(0);
    expect(killed.stdout).not.toMatch(/Rotated/);
    // Both keys are kept until the switch is complete.
    expect(await exists(join(second.state, 'device-key.next.jwk'))).toBe(true);
    const serverSide = await show(second.id);
    if (step === 'before-send') expect(serverSide).toMatchObject({ kid: before.kid, pending_kid: null });
    if (step === 'after-start' || step === 'before-confirm') expect(serverSide).toMatchObject({ kid: before.kid, pending_kid: expect.any(String) });
    if (step === 'after-confirm' || step === 'after-state') expect(serverSide.kid).not.toBe(before.kid);

    const once = await agent(second.state, ['run', '--once']);
    expect(once.code, once.stderr + once.stdout).toBe(0);
    expect(once.stdout).toMatch(/report \d+ accepted/);
    const after = await show(second.id);
    expect(after).toMatchObject({ status: 'active', kid: await localKid(second.state), pending_kid: null });
    expect(after.kid).not.toBe(before.kid);
    expect(await exists(join(second.state, 'device-key.next.jwk'))).toBe(false);
  }, SLOW);

  it.runIf(kind === 'pglite')('rotates on its own when the server says the key is too old (POSTERN_KEY_MAX_AGE), and keeps reporting', async () => {
    const aging = await ServerProcess.start(kind, { POSTERN_KEY_MAX_AGE: '3s' });
    try {
      const { token } = (await aging.admin<{ token: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees' }));
      const state = await stateDir();
      expect((await agent(state, ['enroll', '--server', aging.url, '--token', token])).code).toBe(0);
      const enrolledKid = await localKid(state);
      await new Promise((r) => setTimeout(r, 3500));
      const child = spawn(process.execPath, [agentBin, 'run', '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 600 && !/rotated the device key[\s\S]*report \d+ accepted/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      expect(out, out).toMatch(/older than the server allows \(3 s\): rotating it[\s\S]*rotated the device key: \S+ → \S+[\s\S]*report \d+ accepted/);
      expect(await localKid(state)).not.toBe(enrolledKid);
    } finally {
      await aging.stop();
    }
  }, SLOW);

  it('unenrolls: the server revokes the device at its signed request, and the key and state are gone', async () => {
    const gone = await agent(second.state, ['unenroll']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.stdout).toMatch(new RegExp(`Unenrolled device ${second.id}: the server revoked it`));
    expect(await show(second.id)).toMatchObject({ status: 'revoked' });
    const events = await adminJson<{ events: Array<{ type: string; device_id: string; data: { reason?: string } }> }>(['events', 'list', '--type', 'device.revoked', '--device', second.id]);
    expect(events.events.map((e) => e.data.reason)).toEqual(['unenrolled']);
    for (const file of ['device.json', 'device-key.jwk', 'device-key.next.jwk']) expect(await exists(join(second.state, file))).toBe(false);
    expect((await agent(second.state, ['run', '--once'])).stderr).toMatch(/not enrolled/);
  }, SLOW);
});
