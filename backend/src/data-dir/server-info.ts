import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Written by the server holding the data directory's lock, for the admin commands to find it. */
export const SERVER_INFO_FILE = 'server.json';

export interface ServerInfo {
  url: string;
  pid: number;
}

export async function writeServerInfo(dir: string, info: ServerInfo): Promise<void> {
  await writeFile(join(dir, SERVER_INFO_FILE), JSON.stringify(info) + '\n', { mode: 0o600 });
}

/** The file's contents, or null when it is missing or unreadable. */
export async function readServerInfo(dir: string): Promise<Partial<ServerInfo> | null> {
  try {
    const info = JSON.parse(await readFile(join(dir, SERVER_INFO_FILE), 'utf8')) as Record<string, unknown>;
    return { ...(typeof info.url === 'string' ? { url: info.url } : {}), ...(typeof info.pid === 'number' ? { pid: info.pid } : {}) };
  } catch {
    return null;
  }
}

export async function removeServerInfo(dir: string): Promise<void> {
  await rm(join(dir, SERVER_INFO_FILE), { force: true });
}
