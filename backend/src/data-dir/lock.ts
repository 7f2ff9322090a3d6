import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirUnusable, describe } from './prepare.js';

export const LOCK_FILE = 'server.lock';

/** Someone else's server runs on this data directory. */
export class DataDirLocked extends DataDirUnusable {
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
  }
}

// Locks this process holds: a pid match alone could be a restarted container's leftover (pid 1 again).
const held = new Set<string>();

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the data directory for this process: `server.lock`, created with O_EXCL and holding our
 * pid. A lock whose pid no longer runs was left by a crash and is taken over. A pid file rather
 * than a library such as proper-lockfile: that one judges staleness by a refreshed mtime, so a
 * server paused longer than its timeout (a stopped container, a debugger) would lose its lock,
 * and it records no holder to name in the refusal. Both holders run on one machine, where
 * "does this pid run?" is an exact answer.
 */
export async function lockDataDir(dir: string, urlOf: (pid: number) => Promise<string | null>): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      held.add(path);
      return { release: () => releaseIfOurs(path) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirUnusable(`cannot create the lock file ${path} (${describe(error)}): pass --data DIR (or set POSTERN_DATA_DIR) to a directory this user may write`);
      }
    }
    const holder = await holderOf(path);
    if (holder !== null && (holder === process.pid ? held.has(path) : running(holder))) {
      const url = await urlOf(holder);
      throw new DataDirLocked(
        `the data directory ${dir} is in use by postern-server pid ${holder}${url ? ` at ${url}` : ''}: stop that server first, or pass another --data DIR. (If pid ${holder} is not a postern-server, delete ${path}.)`,
        holder,
      );
    }
    if (attempt > 0) throw new DataDirUnusable(`cannot take the lock file ${path}: another process keeps recreating it; stop the other postern-server`);
    // Left by a process that is gone (or unreadable, from a crash mid-write): take it over.
    await rm(path, { force: true });
  }
}

async function holderOf(path: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseIfOurs(path: string): Promise<void> {
  if (!held.delete(path)) return;
  if ((await holderOf(path)) === process.pid) await rm(path, { force: true });
}
