import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
import { serverBin } from './paths.js';

/** A real `postern-server serve` process on a free port, with its own database. */
export class ServerProcess {
  private constructor(
    public child: ChildProcess,
    public url: string,
    readonly db: TestDatabase,
    readonly adminToken: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(kind: DatabaseKind, env: Record<string, string> = {}): Promise<ServerProcess> {
    return ServerProcess.startOn(await testDatabase(kind), env);
  }

  /** A server on a database the test provides (e.g. a PostgreSQL cluster it stops and starts); `stop()` runs its cleanup. */
  static async startOn(db: TestDatabase, env: Record<string, string> = {}): Promise<ServerProcess> {
    const { child, url } = await ServerProcess.spawnServer(db, env, '0');
    const adminToken = (await readFile(join(db.dataDir, 'admin-token'), 'utf8')).trim();
    return new ServerProcess(child, url, db, adminToken, env);
  }

  /** A second `postern-server` process on this one's PostgreSQL database (a replica), with its own data directory. */
  async replica(env: Record<string, string> = {}): Promise<ServerProcess> {
    if (!this.db.databaseUrl) throw new Error('replicas share a PostgreSQL database; PGlite belongs to one process');
    const dataDir = await mkdtemp(join(tmpdir(), 'postern-replica-'));
    const db: TestDatabase = { dataDir, databaseUrl: this.db.databaseUrl, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
    const { child, url } = await ServerProcess.spawnServer(db, { ...this.env, ...env }, '0');
    return new ServerProcess(child, url, db, this.adminToken, { ...this.env, ...env });
  }

  /** Stops the process and starts it again on the same port and database; `whileStopped` runs in between. */
  async restart(whileStopped?: () => Promise<void>): Promise<void> {
    await this.kill();
    await whileStopped?.();
    const { child, url } = await ServerProcess.spawnServer(this.db, this.env, new URL(this.url).port);
    this.child = child;
    this.url = url;
  }

  private static async spawnServer(db: TestDatabase, env: Record<string, string>, port: string): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, [serverBin, 'serve', '--port', port, '--data', db.dataDir], {
      env: { ...process.env, POSTERN_LOG_LEVEL: 'warn', ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    // Kept for the start-failure message only, and bounded: the process may live long.
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      // A server that does not come up is stopped, so a failed start leaves no process behind.
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`postern-server did not start within 30 s:\n${err}`));
      }, 30_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready at (https?:\/\/\S+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolveUrl(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postern-server exited with ${code}:\n${err}`));
      });
    });
    return { child, url };
  }

  async admin<T = Record<string, unknown>>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as T;
    if (!response.ok) throw new Error(`admin ${method} ${path} → ${response.status}: ${JSON.stringify(json)}`);
    return json;
  }

  async enrollmentToken(options: { group?: string; uses?: number; expires_in_s?: number; approval?: boolean; device_ttl_s?: number } = {}): Promise<string> {
    const created = await this.admin<{ token: string }>('POST', '/v1/admin/enrollment-tokens', { group: 'employees', ...options });
    return created.token;
  }

  async gatewayKey(): Promise<string> {
    return (await this.admin<{ key: string }>('POST', '/v1/admin/gateway-keys', { name: 'test-gateway' })).key;
  }

  async compliance(deviceId: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${this.url}/v1/devices/${deviceId}/compliance`, { headers: { authorization: `Bearer ${key}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  private async kill(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await this.db.cleanup();
  }
}
