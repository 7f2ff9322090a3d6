/**
 * A throwaway PostgreSQL 15 cluster for the test suite.
 *
 * `startThrowawayCluster()` finds the PostgreSQL 15 server binaries, runs `initdb` into a
 * fresh temporary directory, starts the server on a free loopback port with durability
 * turned off (the data is thrown away anyway), and returns its URL and a `stop()` that
 * shuts it down and deletes the directory.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root (CI, containers) the
 * server runs as an unprivileged account: the distribution's `postgres` user when there
 * is one, else a dedicated system user `postern-test` created on first use.
 *
 * Used by `global-setup.ts` and the bench; tests use `freshPostgresDatabase()` from `fresh-database.ts`.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { accessSync, appendFileSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../free-port.js';

/** The PostgreSQL major version the project targets and the tests expect. */
export const POSTGRES_MAJOR = 15;

/** Superuser created by initdb, whatever account runs the server. */
const SUPERUSER = 'postgres';

/** Account created for the server when running as root and no `postgres` account exists. */
const FALLBACK_ACCOUNT = 'postern-test';

export interface PostgresBinaries {
  /** Directory holding initdb, pg_ctl and postgres. */
  bindir: string;
  /** Output of `postgres --version`, e.g. `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
  version: string;
}

export interface BinarySearch {
  found?: PostgresBinaries;
  /** Directories that held a PostgreSQL server of another major version. */
  otherVersions: string[];
}

export interface ThrowawayCluster {
  url: string;
  port: number;
  dir: string;
  /** OS account the server runs as. */
  account: string;
  binaries: PostgresBinaries;
  /** Stops the server (`pg_ctl stop -m immediate`) and deletes its directory. Safe to call twice. */
  stop(): void;
  /** Kills the server as a crash would (`pg_ctl stop -m immediate`), keeping its data: connections drop, the port refuses. */
  halt(): void;
  /** Starts a halted server again on the same data directory and port. */
  resume(): void;
}

/** Directories where distributions and package managers put the PostgreSQL 15 server. */
function candidateBindirs(): string[] {
  const dirs: string[] = [];
  const override = process.env.POSTERN_TEST_PG_BINDIR;
  if (override) dirs.push(override);
  dirs.push(
    `/usr/lib/postgresql/${POSTGRES_MAJOR}/bin`, // Debian, Ubuntu
    `/usr/pgsql-${POSTGRES_MAJOR}/bin`, // RHEL, Fedora (PGDG)
    `/opt/homebrew/opt/postgresql@${POSTGRES_MAJOR}/bin`, // Homebrew, Apple silicon
    `/usr/local/opt/postgresql@${POSTGRES_MAJOR}/bin`, // Homebrew, Intel
    `/usr/libexec/postgresql${POSTGRES_MAJOR}`, // Alpine
  );
  // Anything on PATH (e.g. /usr/local/bin symlinks, Nix, asdf). Debian's /usr/bin holds
  // only wrappers for client tools, never initdb, so PATH is searched after the above.
  for (const entry of (process.env.PATH ?? '').split(delimiter)) if (entry) dirs.push(entry);
  return dirs;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds a directory holding `initdb`, `pg_ctl` and `postgres` of PostgreSQL 15.
 * Symlinks are resolved, so `/usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl`
 * leads to the real directory (where initdb and postgres sit beside pg_ctl, as pg_ctl needs).
 * `POSTERN_TEST_PG_BINDIR` puts a directory first and is accepted whatever its version.
 */
export function findPostgresBinaries(): BinarySearch {
  const seen = new Set<string>();
  const otherVersions: string[] = [];
  const override = process.env.POSTERN_TEST_PG_BINDIR;
  for (const dir of candidateBindirs()) {
    const pgCtl = join(dir, 'pg_ctl');
    if (!isExecutable(pgCtl)) continue;
    let bindir: string;
    try {
      bindir = join(realpathSync(pgCtl), '..');
    } catch {
      continue;
    }
    if (seen.has(bindir)) continue;
    seen.add(bindir);
    if (!['initdb', 'pg_ctl', 'postgres'].every((name) => isExecutable(join(bindir, name)))) continue;
    let version: string;
    try {
      version = execFileSync(join(bindir, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    const major = /\(PostgreSQL\)\s+(\d+)/.exec(version)?.[1];
    if (major === String(POSTGRES_MAJOR) || (override && dir === override)) {
      return { found: { bindir, version }, otherVersions };
    }
    otherVersions.push(`${bindir} (${version})`);
  }
  return { otherVersions };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function accountIds(name: string): { uid: number; gid: number } | undefined {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  if (result.status !== 0) return undefined;
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The unprivileged account to run the server as when we are root; creates one if needed. */
function serverAccount(): { name: string; uid: number; gid: number } {
  for (const name of ['postgres', FALLBACK_ACCOUNT]) {
    const ids = accountIds(name);
    if (ids) return { name, ...ids };
  }
  const created = spawnSync(
    'useradd',
    ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', FALLBACK_ACCOUNT],
    { encoding: 'utf8' },
  );
  const ids = accountIds(FALLBACK_ACCOUNT);
  if (!ids) {
    throw new Error(
      `PostgreSQL refuses to run as root and there is no 'postgres' account; creating the system user '${FALLBACK_ACCOUNT}' failed: ` +
        `${created.error?.message ?? created.stderr.trim()}`,
    );
  }
  return { name: FALLBACK_ACCOUNT, ...ids };
}

function hasRunuser(): boolean {
  return ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser', '/bin/runuser'].some(isExecutable);
}

type Runner = (command: string, args: string[]) => SpawnSyncReturns<string>;

/**
 * Runs PostgreSQL tools as `account` when we are root (through `runuser`, or by letting Node
 * switch uid/gid where runuser is missing), else as ourselves. The working directory is the
 * cluster's own, which the server account can always enter.
 */
function makeRunner(dir: string, account: { name: string; uid: number; gid: number } | undefined): Runner {
  const env = { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' };
  const options = { cwd: dir, env, encoding: 'utf8' as const, timeout: 120_000 };
  if (!account) return (command, args) => spawnSync(command, args, options);
  if (hasRunuser()) return (command, args) => spawnSync('runuser', ['-u', account.name, '--', command, ...args], options);
  return (command, args) => spawnSync(command, args, { ...options, uid: account.uid, gid: account.gid });
}

function describeFailure(what: string, result: SpawnSyncReturns<string>, logFile?: string): Error {
  const output = [result.error?.message, result.stdout, result.stderr].filter(Boolean).join('\n').trim();
  let log = '';
  if (logFile && existsSync(logFile)) log = `\n--- server log (${logFile}) ---\n${readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`;
  return new Error(`${what} failed (exit ${result.status ?? result.signal}):\n${output}${log}`);
}

/** Settings for a fast, disposable, loopback-only server. */
function serverSettings(port: number, socketDir: string): string {
  return [
    '',
    '# Throwaway test cluster (testkit/src/postgres/cluster.ts)',
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${socketDir.replaceAll("'", "''")}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 200',
    `timezone = 'UTC'`,
    '',
  ].join('\n');
}

/**
 * Starts a throwaway PostgreSQL 15 cluster. Throws when no binaries are found or the server
 * does not come up; the error holds the tool's output and the tail of the server log.
 */
export async function startThrowawayCluster(binaries: PostgresBinaries): Promise<ThrowawayCluster> {
  const account = isRoot() ? serverAccount() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'postern-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  let stopped = false;
  let started = false;
  const run = makeRunner(dir, account);
  const pgCtl = join(binaries.bindir, 'pg_ctl');

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', stop);
    if (started) run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
    rmSync(dir, { recursive: true, force: true });
  };
  // If the test run dies without teardown, do not leave a server behind.
  process.on('exit', stop);

  try {
    if (account) chownSync(dir, account.uid, account.gid);
    const initdb = run(join(binaries.bindir, 'initdb'), [
      '--pgdata',
      dataDir,
      '--username',
      SUPERUSER,
      '--auth',
      'trust',
      '--encoding',
      'UTF8',
      '--no-locale',
      '--no-sync',
      '--no-instructions',
    ]);
    if (initdb.status !== 0) throw describeFailure('initdb', initdb);

    // A free port can be taken by someone else between probing and binding: retry a few times.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      appendFileSync(join(dataDir, 'postgresql.conf'), serverSettings(port, dir));
      started = true; // even a failed start may leave a postmaster behind: stop() cleans it up
      const start = run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
      if (start.status === 0) {
        return {
          url: `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`,
          port,
          dir,
          account: account?.name ?? userInfo().username,
          binaries,
          stop,
          halt: () => {
            const halted = run(pgCtl, ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '30']);
            if (halted.status !== 0) throw describeFailure('pg_ctl stop', halted, logFile);
          },
          resume: () => {
            const resumed = run(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
            if (resumed.status !== 0) throw describeFailure('pg_ctl start', resumed, logFile);
          },
        };
      }
      const portTaken = existsSync(logFile) && /could not bind|Address already in use/i.test(readFileSync(logFile, 'utf8'));
      if (!portTaken || attempt >= 3) throw describeFailure('pg_ctl start', start, logFile);
    }
  } catch (error) {
    stop();
    throw error;
  }
}
