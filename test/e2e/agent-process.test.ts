import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '@postern/testkit/databases';
import { adminCli, cli } from '@postern/testkit/cli';
import { agentBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

describe.each(databaseKinds)('the real agent and server processes on %s', (kind) => {
  let server: ServerProcess;
  let state: string;
  let deviceId: string;
  const admin = (args: string[]) => adminCli(server, args);
  const agent = (args: string[]) => cli(agentBin, [...args, '--state', state]);

  beforeAll(async () => {
    server = await ServerProcess.start(kind);
    state = await mkdtemp(join(tmpdir(), 'postern-agent-state-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (state) await rm(state, { recursive: true, force: true });
  });

  it('enrolls with a token made by the admin command, keeping the private key private', async () => {
    const token = await admin(['token', 'create', '--group', 'servers', '--expires', '10m', '--json']);
    expect(token.code).toBe(0);
    const { token: enrollmentToken } = JSON.parse(token.stdout) as { token: string };
    const enrolled = await agent(['enroll', '--server', server.url, '--token', enrollmentToken]);
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.stdout + enrolled.stderr).not.toContain(enrollmentToken);
    expect((await stat(join(state, 'device-key.jwk'))).mode & 0o777).toBe(0o600);
    const list = JSON.parse((await admin(['device', 'list', '--json'])).stdout) as { devices: Array<{ device_id: string; group: string; status: string }> };
    expect(list.devices).toHaveLength(1);
    expect(list.devices[0]).toMatchObject({ group: 'servers', status: 'active' });
    deviceId = list.devices[0]?.device_id ?? '';
  });

  it('refuses to enroll twice with the same single-use token', async () => {
    const token = JSON.parse((await admin(['token', 'create', '--group', 'servers', '--json'])).stdout) as { token: string };
    const other = await mkdtemp(join(tmpdir(), 'postern-agent-other-'));
    expect((await cli(agentBin, ['enroll', '--server', server.url, '--token', token.token, '--state', other])).code).toBe(0);
    const again = await cli(agentBin, ['enroll', '--server', server.url, '--token', token.token, '--state', join(other, 'second')]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/unknown, expired or used up/);
    await rm(other, { recursive: true, force: true });
  });

  it('reports this machine once and prints the verdict the compliance API then gives', async () => {
    const once = await agent(['run', '--once']);
    expect(once.code, once.stderr).toBe(0);
    const { last_result: status } = JSON.parse((await agent(['status', '--json'])).stdout) as { last_result: { verdict: string; score: number } };
    expect(once.stdout).toContain(`verdict ${status.verdict}, score ${status.score}`);
    const key = JSON.parse((await admin(['gateway-key', 'create', '--name', 'e2e', '--json'])).stdout) as { key: string };
    const compliance = await server.compliance(deviceId, key.key);
    expect(compliance.status).toBe(200);
    expect(compliance.body).toMatchObject({ device_id: deviceId, verdict: status.verdict, score: status.score });
    // Every check the server found failing is printed with what to do about it.
    for (const check of compliance.body.checks as Array<{ id: string; status: string }>) {
      if (check.status !== 'pass') expect(once.stdout).toContain(check.id);
    }
  });

  it('reports over plain HTTP when WebSocket is not an option', async () => {
    const once = await agent(['run', '--once', '--http']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/report \d+ accepted \(over HTTP\)/);
  });

  it("lets a gateway decide on the agent's own token and DPoP proof", async () => {
    const url = `${server.url}/v1/authz`;
    const headers = JSON.parse((await agent(['token', '--url', url, '--json'])).stdout) as { authorization: string; dpop: string };
    const response = await fetch(url, { headers: { authorization: headers.authorization, dpop: headers.dpop } });
    const verdict = response.headers.get('x-postern-verdict');
    expect(response.headers.get('x-postern-device')).toBe(deviceId);
    expect(response.status).toBe(verdict === 'compliant' || verdict === 'grace' ? 200 : 403);
    const replay = await fetch(url, { headers: { authorization: headers.authorization, dpop: headers.dpop } });
    expect(replay.status).toBe(401);
  });

  it('keeps the device across a server restart, and seq keeps increasing', async () => {
    const seqOf = (stdout: string) => Number(/report (\d+) accepted/.exec(stdout)?.[1]);
    const before = await agent(['run', '--once']);
    expect(before.code, before.stderr).toBe(0);
    await server.restart();
    const once = await agent(['run', '--once']);
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout).toMatch(/report \d+ accepted/);
    expect(seqOf(once.stdout)).toBe(seqOf(before.stdout) + 1);
  });

  it('stops a running agent with exit code 3 when an admin revokes its device', async () => {
    const child = spawn(process.execPath, [agentBin, 'run', '--state', state], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (let i = 0; i < 200 && !/accepted/.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/accepted/);
    const revoked = await admin(['device', 'revoke', deviceId]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(await exited).toBe(3);
    expect(out).toMatch(/revoked/);
    expect((await agent(['run', '--once'])).code).not.toBe(0);
  });

  it('explains admin command mistakes on stderr with a non-zero exit', async () => {
    const bad = await admin(['token', 'create', '--group', 'x', '--expires', 'tomorrow']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not a duration/);
    const unknown = await admin(['device', 'show', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no device/);
  });
});
