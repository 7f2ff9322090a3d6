import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '@postern/backend';
import type { CheckResult, Posture } from '@postern/shared';
import { adminCli, cli } from '@postern/testkit/cli';
import { databaseKinds } from '@postern/testkit/databases';
import { FakeDevice, type StreamSession } from '@postern/testkit/fake-device';
import { healthyLinuxPosture, withPendingSecurity, withScreenLock } from '@postern/testkit/postures';
import { serverBin } from '@postern/testkit/paths';
import { ServerProcess } from '@postern/testkit/server-process';

/** What a security engineer writes for contractors: stricter than the default employees get. */
const CONTRACTORS_POLICY = `# Contractors bring their own devices: nothing is tolerated for long.
postern_policy: 1
name: contractors-strict
group: contractors
description: Stricter than the default; every check blocks.
report_interval: 5m
checks:
  - id: os.supported
    severity: high
    weight: 10
    enforcement: block
    params:
      platforms: [linux, darwin, win32]
  - id: disk_encryption.all_fixed_volumes
    severity: critical
    weight: 30
    enforcement: block
  - id: firewall.enabled
    severity: high
    weight: 20
    enforcement: block
  - id: patches.max_pending_security
    severity: high
    weight: 20
    enforcement: block
    params:
      max: 0
    remediation:
      linux: "Contractors: run \`sudo apt-get upgrade\` today; there is no grace period."
  - id: screen_lock.max_idle_minutes
    severity: medium
    weight: 10
    enforcement: block
    params:
      max: 10
  - id: report.max_age
    severity: low
    weight: 10
    enforcement: block
    params:
      max_age: 10m
`;

const BROKEN_POLICY = `postern_policy: 1
group: contractors
checks:
  - id: firewall.enabled
    severity: high
    weight: 20
    enforcement: warn_then_block
  - id: patches.max_pending_security
    severity: urgent
    weight: 20
    enforcement: block
    params:
      max: many
`;

interface Compliance {
  verdict: string;
  score: number;
  policy: string;
  checks: CheckResult[];
}

describe.each(databaseKinds)('a security engineer changes the contractors policy on %s', (kind) => {
  let server: ServerProcess;
  let dir: string;
  let gatewayKey: string;
  const sessions = new Map<string, StreamSession>();
  const devices: Record<'employee' | 'behind' | 'tidy' | 'noLock', FakeDevice> = {} as never;
  const admin = (...args: string[]) => adminCli(server, args);
  const compliance = async (device: FakeDevice) => (await server.compliance(device.deviceId, gatewayKey)).body as unknown as Compliance;

  async function enrollAndReport(group: string, posture: Posture): Promise<FakeDevice> {
    const device = await FakeDevice.create();
    expect((await device.enroll(server.url, await server.enrollmentToken({ group }))).status).toBe(201);
    const { session, answer } = await device.report(server.url, posture);
    expect(answer.type).toBe('result');
    sessions.set(device.deviceId, session);
    return device;
  }

  beforeAll(async () => {
    server = await ServerProcess.start(kind, { POSTERN_EXCEPTION_SWEEP_S: '1' });
    dir = await mkdtemp(join(tmpdir(), 'postern-policy-'));
    await writeFile(join(dir, 'contractors.yaml'), CONTRACTORS_POLICY);
    await writeFile(join(dir, 'broken.yaml'), BROKEN_POLICY);
    gatewayKey = await server.gatewayKey();
    devices.employee = await enrollAndReport('employees', withPendingSecurity(healthyLinuxPosture(), 2));
    devices.behind = await enrollAndReport('contractors', withScreenLock(withPendingSecurity(healthyLinuxPosture(), 2), 5));
    devices.tidy = await enrollAndReport('contractors', withScreenLock(healthyLinuxPosture(), 5));
    devices.noLock = await enrollAndReport('contractors', healthyLinuxPosture());
  });
  afterAll(async () => {
    for (const session of sessions.values()) session.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('starts with every group judged by the built-in default policy', async () => {
    expect(await compliance(devices.employee)).toMatchObject({ verdict: 'grace', policy: 'default@1' });
    expect(await compliance(devices.behind)).toMatchObject({ verdict: 'grace', policy: 'default@1' });
    expect(await compliance(devices.tidy)).toMatchObject({ verdict: 'compliant', score: 100, policy: 'default@1' });
    const history = await admin('policy', 'history', '--json');
    expect(JSON.parse(history.stdout)).toMatchObject({ versions: [{ policy: 'default@1', active: true, author: 'postern' }] });
  });

  it('validates the policy without a server, and points at every mistake by line and path', async () => {
    const ok = await cli(serverBin, ['policy', 'validate', join(dir, 'contractors.yaml')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/valid policy with 6 checks for group contractors/);
    const bad = await cli(serverBin, ['policy', 'validate', join(dir, 'broken.yaml')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/broken\.yaml:7:\d+: checks\[0\]\.enforcement: warn_then_block needs a grace period/);
    expect(bad.stderr).toMatch(/broken\.yaml:9:\d+: checks\[1\]\.severity: /);
    expect(bad.stderr).toMatch(/broken\.yaml:13:\d+: checks\[1\]\.params\.max: /);
  });

  it('shows in a dry run which devices would change verdict and why, changing nothing', async () => {
    const table = await admin('policy', 'diff', join(dir, 'contractors.yaml'));
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/contractors@1 \(now default@1\): 3 device\(s\) judged, 2 would change verdict/);
    expect(table.stdout).toContain(devices.behind.hostname);
    expect(table.stdout).toMatch(/grace → noncompliant/);
    const json = JSON.parse((await admin('policy', 'diff', join(dir, 'contractors.yaml'), '--json')).stdout) as {
      changed: number;
      transitions: Record<string, number>;
      differences: Array<{ device_id: string; from: string; to: string; checks: Array<{ id: string; to: string }> }>;
    };
    expect(json.changed).toBe(2);
    expect(json.transitions).toEqual({ 'grace→noncompliant': 1, 'compliant→unknown': 1 });
    const behind = json.differences.find((d) => d.device_id === devices.behind.deviceId);
    expect(behind).toMatchObject({ from: 'grace', to: 'noncompliant' });
    expect(behind?.checks).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'screen_lock.max_idle_minutes', to: 'pass' })]));
    expect(json.differences.find((d) => d.device_id === devices.noLock.deviceId)).toMatchObject({ from: 'compliant', to: 'unknown' });
    expect(json.differences.some((d) => d.device_id === devices.employee.deviceId)).toBe(false);
    expect(await compliance(devices.behind)).toMatchObject({ verdict: 'grace', policy: 'default@1' });
  });

  it('applies it: affected devices change verdict at once and connected contractors are told to report', async () => {
    const applied = await admin('policy', 'apply', join(dir, 'contractors.yaml'), '-m', 'contractors: no grace period for security updates', '--author', 'sec-eng');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/applied contractors@1: 3 device\(s\) re-evaluated in \d+ ms, 2 changed verdict/);

    const behind = await compliance(devices.behind);
    expect(behind).toMatchObject({ verdict: 'noncompliant', policy: 'contractors@1' });
    expect(behind.checks.find((c) => c.id === 'patches.max_pending_security')).toMatchObject({ status: 'fail', message: expect.stringMatching(/2 security updates/), remediation: expect.stringMatching(/no grace period/) });
    expect(await compliance(devices.noLock)).toMatchObject({ verdict: 'unknown', policy: 'contractors@1' });
    expect(await compliance(devices.tidy)).toMatchObject({ verdict: 'compliant', score: 100, policy: 'contractors@1' });
    expect(await compliance(devices.employee)).toMatchObject({ verdict: 'grace', policy: 'default@1' });

    for (const device of [devices.behind, devices.tidy, devices.noLock]) expect(await sessions.get(device.deviceId)?.next()).toEqual({ type: 'collect' });
    await expect(sessions.get(devices.employee.deviceId)?.next(500)).rejects.toThrow(/no frame/);

    // The fresh report the agent sends on `collect` is judged by the new version too.
    const session = sessions.get(devices.behind.deviceId)!;
    expect(await session.attest(await devices.behind.evidence(session.nonce, { posture: withScreenLock(withPendingSecurity(healthyLinuxPosture(), 2), 5) }))).toMatchObject({ type: 'result', verdict: 'noncompliant' });

    const audit = JSON.parse((await admin('audit', 'list', '--device', devices.behind.deviceId, '--kind', 'device.verdict_changed', '--json')).stdout) as { entries: Array<{ detail: Record<string, unknown> }> };
    expect(audit.entries.at(-1)?.detail).toMatchObject({ from: 'grace', to: 'noncompliant', policy: 'contractors@1', reason: 'policy contractors@1 applied' });
    const history = JSON.parse((await admin('policy', 'history', '--json')).stdout) as { versions: Array<{ policy: string; active: boolean; author: string; message: string }> };
    expect(history.versions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ policy: 'contractors@1', active: true, author: 'sec-eng', message: 'contractors: no grace period for security updates' }),
        expect.objectContaining({ policy: 'default@1', active: true }),
      ]),
    );
    const shown = await admin('policy', 'show', '--group', 'contractors');
    expect(shown.stdout).toBe(CONTRACTORS_POLICY);
  });

  it('grants a break-glass exception that shows in the result and stops applying on its own', async () => {
    const device = devices.behind;
    const granted = await admin('exception', 'grant', device.deviceId, '--check', 'patches.max_pending_security', '--until', '3s', '--reason', 'release day: patch tonight', '--json');
    expect(granted.code, granted.stderr).toBe(0);
    const exception = JSON.parse(granted.stdout) as { id: string; until: number };
    const waived = await compliance(device);
    expect(waived.verdict).toBe('compliant');
    expect(waived.checks.find((c) => c.id === 'patches.max_pending_security')).toMatchObject({ status: 'fail', exception: { id: exception.id, reason: 'release day: patch tonight', granted_by: 'admin:initial' } });
    expect(await sessions.get(device.deviceId)?.next()).toEqual({ type: 'collect' });

    await new Promise((r) => setTimeout(r, Math.max(0, exception.until * 1000 - Date.now()) + 1200));
    expect((await compliance(device)).verdict).toBe('noncompliant');
    let ended: Array<{ kind: string }> = [];
    for (let i = 0; i < 50 && ended.length === 0; i++) {
      ended = (JSON.parse((await admin('audit', 'list', '--device', device.deviceId, '--kind', 'exception.', '--json')).stdout) as { entries: Array<{ kind: string }> }).entries.filter((e) => e.kind === 'exception.ended');
      if (ended.length === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ended).toHaveLength(1);
    const listed = JSON.parse((await admin('exception', 'list', '--device', device.deviceId, '--all', '--json')).stdout) as { exceptions: Array<{ active: boolean }> };
    expect(listed.exceptions).toEqual([expect.objectContaining({ active: false })]);
  });

  it('proves the whole history with audit verify, and names an entry altered in the database', async () => {
    const verified = await admin('audit', 'verify');
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/audit log OK: \d+ entries/);
    const kinds = (JSON.parse((await admin('audit', 'list', '--limit', '1000', '--json')).stdout) as { entries: Array<{ kind: string }> }).entries.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['policy.applied', 'device.enrolled', 'device.verdict_changed', 'exception.granted', 'exception.ended']));

    // Someone with database access rewrites who applied the contractors policy.
    let tampered = 0;
    const rewrite = `update audit_log set detail = jsonb_set(detail, '{author}', '"someone-else"') where kind = 'policy.applied' and detail->>'group' = 'contractors' returning id`;
    if (server.db.databaseUrl) {
      const client = new pg.Client({ connectionString: server.db.databaseUrl });
      await client.connect();
      tampered = Number((await client.query<{ id: string }>(rewrite)).rows[0]?.id);
      await client.end();
    } else {
      // PGlite allows one process at a time: stop the server, tamper, start it again.
      await server.restart(async () => {
        const store = await openStore({ dataDir: server.db.dataDir });
        const row = await store.db.selectFrom('audit_log').select(['id', 'detail']).where('kind', '=', 'policy.applied').orderBy('id', 'desc').executeTakeFirstOrThrow();
        await store.db.updateTable('audit_log').set({ detail: JSON.stringify({ ...row.detail, author: 'someone-else' }) }).where('id', '=', row.id).execute();
        tampered = row.id;
        await store.close();
      });
    }
    expect(tampered).toBeGreaterThan(0);
    const broken = await admin('audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`entry ${tampered} (policy.applied) was altered`);
  });
});
