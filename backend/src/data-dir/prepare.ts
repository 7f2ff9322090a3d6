import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The data directory cannot be used; the message says why and what to do. */
export class DataDirUnusable extends Error {}

const advice = 'pass --data DIR (or set POSTERN_DATA_DIR) to a directory this user may write';

/**
 * Makes sure `dir` is a directory this process can write, creating it (mode 0700) when missing.
 * Each missing level is made on its own: Node's recursive mkdir loops forever on paths such
 * as /proc/x, where mkdir answers ENOENT under a parent that exists.
 */
export async function prepareDataDir(dir: string): Promise<void> {
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    const kind = await kindOf(existing);
    if (kind === 'directory') break;
    if (kind !== 'missing') {
      throw new DataDirUnusable(
        existing === dir
          ? `the data directory ${dir} is ${kind}, not a directory: ${advice}`
          : `cannot create the data directory ${dir}: ${existing} is ${kind}, not a directory; ${advice}`,
      );
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  for (const level of missing) {
    try {
      await mkdir(level, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new DataDirUnusable(`cannot create the data directory ${dir}: mkdir ${level} failed (${describe(error)}); ${advice}`);
    }
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new DataDirUnusable(`the data directory ${dir} is not writable (${describe(error)}): ${advice}, or fix its owner and mode`);
  }
}

async function kindOf(path: string): Promise<'directory' | 'missing' | string> {
  try {
    const s = await stat(path);
    if (s.isDirectory()) return 'directory';
    if (s.isFile()) return 'a regular file';
    if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
    return 'a special file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'missing'; // a parent is not a directory: found on the way up
    throw new DataDirUnusable(`cannot inspect the data directory path ${path} (${describe(error)}): ${advice}`);
  }
}

export function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a part of the path is not a directory',
  };
  return e.code ? `${e.code}: ${reasons[e.code] ?? e.message}` : String(e.message ?? error);
}
