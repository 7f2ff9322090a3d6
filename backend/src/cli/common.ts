import { userInfo } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { resolveDataDir } from '../config.js';
import { parseDuration } from '../time/duration.js';
import { resolveAdminTarget, type AdminTarget } from './admin-client.js';
import { EXIT, type ExitCode } from './exit-codes.js';

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

/** A past time for filters: ISO 8601, or a duration back from now (`24h` = a day ago). An option parser: a bad value is a usage error. */
export function parsePastTime(text: string, now = Math.floor(Date.now() / 1000)): number {
  const trimmed = text.trim();
  if (/^\d+\s*[smhdw]$/.test(trimmed)) return now - parseDuration(trimmed);
  const ms = Date.parse(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && !Number.isNaN(ms)) return Math.floor(ms / 1000);
  throw new InvalidArgumentError('It is neither a time nor a duration: use ISO 8601 such as 2026-05-01T18:00:00Z, or a duration back from now such as 24h.');
}

/** An option parser for a whole number within bounds (commander reports a bad one as a usage error). */
export function wholeNumber(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\s*\d+\s*$/.test(raw) || n < min || n > max) throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `Give a whole number of at least ${min}.` : `Give a whole number from ${min} to ${max}.`);
    return n;
  };
}

/** An option parser for a duration (`10m`, `24h`, `30d`) within bounds, in seconds; the bounds are said in words. */
export function durationWithin(min: number, max: number): (raw: string) => number {
  return (raw) => {
    let seconds: number;
    try {
      seconds = parseDuration(raw);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
    if (seconds < min) throw new InvalidArgumentError(`It must be at least ${inWords(min)}.`);
    if (seconds > max) throw new InvalidArgumentError(`It must be at most ${inWords(max)}.`);
    return seconds;
  };
}

/** An option parser for free text of at most `max` characters. */
export function textUpTo(max: number): (raw: string) => string {
  return (raw) => {
    if (!raw.trim()) throw new InvalidArgumentError('It is empty: say something.');
    if (raw.length > max) throw new InvalidArgumentError(`It is ${raw.length} characters long; at most ${max} are allowed.`);
    return raw;
  };
}

const WORD_UNITS: Array<[number, string]> = [
  [365 * 86400, 'year'],
  [7 * 86400, 'week'],
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** 60 → "1 minute", 31536000 → "1 year": the largest unit that divides it. */
export function inWords(seconds: number): string {
  const [unit, word] = WORD_UNITS.find(([u]) => seconds % u === 0) ?? [1, 'second'];
  const n = seconds / unit;
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Who is at the keyboard, recorded as a policy version's author unless --author says otherwise. */
export function defaultAuthor(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Ends the command with a message on stderr and this exit code (cli/exit-codes.ts). */
export class CommandFailed extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message);
  }
}
