import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Public base URL; also the `iss` of signed results. Defaults to the listening URL. */
  publicUrl: string | undefined;
  trustProxy: boolean;
}

export const DEFAULT_PORT = 8700;

/** `--data`, else POSTERN_DATA_DIR, else /var/lib/postern for root, else the XDG data directory. */
export function resolveDataDir(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.POSTERN_DATA_DIR) return resolve(process.env.POSTERN_DATA_DIR);
  if (process.getuid?.() === 0) return '/var/lib/postern';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'postern');
}

export function resolveServerConfig(flags: { port?: string; host?: string; data?: string }): ServerConfig {
  const rawPort = flags.port ?? process.env.POSTERN_PORT ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port ${JSON.stringify(rawPort)} is not a number from 0 to 65535`);
  return {
    host: flags.host ?? process.env.POSTERN_HOST ?? '127.0.0.1',
    port,
    dataDir: resolveDataDir(flags.data),
    databaseUrl: process.env.DATABASE_URL || undefined,
    publicUrl: process.env.POSTERN_PUBLIC_URL || undefined,
    trustProxy: process.env.POSTERN_TRUST_PROXY === '1',
  };
}
