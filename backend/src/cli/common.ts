import { userInfo } from 'node:os';
import { Option } from 'commander';
import { resolveDataDir } from '../config.js';
import { parseDuration } from '../time/duration.js';
import { AdminCommandError, resolveAdminTarget, type AdminTarget } from './admin-client.js';

export interface AdminFlags {
  json?: boolean;
  data?: string;
  server?: string;
}

export const dataOption = () => new Option('--data <dir>', 'server data directory (env POSTERN_DATA_DIR)');
export const serverOption = () => new Option('--server <url>', 'URL of the running server (env POSTERN_SERVER_URL)');
export const jsonOption = () => new Option('--json', 'print one JSON object');

export function adminTarget(flags: AdminFlags): Promise<AdminTarget> {
  return resolveAdminTarget(resolveDataDir(flags.data), flags);
}

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) process.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
}

export function isoTime(seconds: number | null | undefined): string {
  return seconds === null || seconds === undefined ? '-' : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** A past time for filters: ISO 8601, or a duration back from now (`24h` = a day ago). */
export function parsePastTime(text: string, now = Math.floor(Date.now() / 1000)): number {
  const trimmed = text.trim();
  if (/^\d+\s*[smhdw]$/.test(trimmed)) return now - parseDuration(trimmed);
  const ms = Date.parse(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && !Number.isNaN(ms)) return Math.floor(ms / 1000);
  throw new AdminCommandError(`"${text}" is neither a time nor a duration: use ISO 8601 such as 2026-05-01T18:00:00Z, or a duration back from now such as 24h`);
}

/** Who is at the keyboard, recorded as a policy version's author unless --author says otherwise. */
export function defaultAuthor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Ends the command with a message on stderr and this exit code (1: the thing checked is bad). */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
