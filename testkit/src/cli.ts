import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { serverBin } from './paths.js';
import type { ServerProcess } from './server-process.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a Node CLI (`postern-server`, `postern-agent`) to completion; never throws on a non-zero exit. */
export async function cli(bin: string, args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `postern-server ARGS` as an administrator on the server's machine would run it (finds URL and token in the data directory). */
export function adminCli(server: ServerProcess, args: string[]): Promise<CliResult> {
  return cli(serverBin, [...args, '--data', server.db.dataDir], server.db.databaseUrl ? { DATABASE_URL: server.db.databaseUrl } : {});
}
