import { execFile, spawnSync } from 'node:child_process';
import { open } from 'node:fs/promises';
import os from 'node:os';
import type { Platform } from '@postern/shared';
import { wallClockToEpochSeconds, type WallClock } from './wall-clock.js';

/**
 * The environment every probe reads the device through. Live collection, tests and a
 * diagnostic-bundle replay all run the same probe code; only this context differs.
 */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  failure?: 'not_found' | 'timeout' | 'spawn_error';
}

export interface ProbeContext {
  exec(command: string, args: string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** null when missing or unreadable. */
  readFile(path: string): Promise<string | null>;
  /** ms since epoch */
  now(): number;
  platform: Platform;
  /** root / Administrator */
  isPrivileged: boolean;
  /** `os.release()`; part of the context so a replay reports the recorded kernel, not its own. */
  kernel: string;
  /** `os.arch()` (`x64`, `arm64`, …), recorded for the same reason. */
  arch: string;
  /** IANA zone of the device: local-time logs (apt history) are converted with it. */
  timeZone: string;
  /** A wall-clock time of the device's zone (a log line) as epoch seconds; null when it does not exist. */
  localTimeToEpochSeconds(t: WallClock): number | null;
}

export const DEFAULT_TIMEOUT_MS = 5_000;
/** apt-get -s, dnf check-update, firewall-cmd (10 s of D-Bus retries) and the like. */
export const SLOW_TIMEOUT_MS = 20_000;
/** Bounds what one command or file may make the agent hold in memory. */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** The key a command is recorded under: the command and its arguments joined by spaces. */
export function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].join(' ');
}

/** Root-only tools live in sbin, which a non-root login shell's PATH often lacks. */
function pathWithSbin(path: string | undefined): string {
  const parts = (path ?? '').split(':').filter(Boolean);
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!parts.includes(dir)) parts.push(dir);
  }
  return parts.join(':');
}

/**
 * Windows tools are found in System32 first, whatever PATH the service inherited, so a
 * directory earlier on PATH cannot stand in for powershell.exe or manage-bde.exe.
 */
function windowsPath(path: string | undefined, systemRoot: string): string {
  const system32 = `${systemRoot}\\System32`;
  const first = [system32, `${system32}\\WindowsPowerShell\\v1.0`, `${system32}\\Wbem`];
  const rest = (path ?? '').split(';').filter((p) => p && !first.some((f) => f.toLowerCase() === p.toLowerCase()));
  return [...first, ...rest].join(';');
}

/**
 * Elevated (or SYSTEM) when the process token carries the High or System mandatory
 * level; `whoami /groups` prints SIDs, which no translation changes.
 */
function windowsIsElevated(): boolean {
  const r = spawnSync('whoami', ['/groups', '/fo', 'csv', '/nh'], { encoding: 'utf8', windowsHide: true, timeout: DEFAULT_TIMEOUT_MS });
  return r.status === 0 && /S-1-16-(12288|16384)\b/.test(r.stdout);
}

function livePlatform(): Platform {
  const p = process.platform;
  if (p === 'linux' || p === 'darwin' || p === 'win32') return p;
  throw new Error(`postern-agent does not support the ${p} platform`);
}

/** Intl's time-zone support costs the process about 8 MB: it is asked only when the zone is wanted by name (recordings). */
function liveTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function liveProbeContext(): ProbeContext {
  const platform = livePlatform();
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  if (platform === 'win32') {
    // Windows matches environment names without case; the copy must hold one PATH, not two.
    const key = Object.keys(env).find((k) => k.toLowerCase() === 'path');
    const current = key === undefined ? undefined : env[key];
    if (key !== undefined) delete env[key];
    env.Path = windowsPath(current, process.env.SystemRoot ?? 'C:\\Windows');
  } else {
    env.PATH = pathWithSbin(process.env.PATH);
  }
  return {
    platform,
    isPrivileged: platform === 'win32' ? windowsIsElevated() : typeof process.getuid === 'function' && process.getuid() === 0,
    kernel: os.release(),
    arch: os.arch(),
    get timeZone() {
      return liveTimeZone();
    },
    // Date's local time is the device's zone, without loading Intl's formatters.
    localTimeToEpochSeconds(t) {
      const ms = new Date(t.year, t.month - 1, t.day, t.hour, t.minute, t.second).getTime();
      return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
    },
    now: () => Date.now(),
    exec(command, args, options) {
      const timeout = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      return new Promise<ExecResult>((resolve) => {
        const child = execFile(
          command,
          args,
          { env, timeout, killSignal: 'SIGKILL', maxBuffer: MAX_OUTPUT_BYTES, windowsHide: true, encoding: 'utf8' },
          (error, stdout, stderr) => {
            if (!error) return resolve({ code: 0, stdout, stderr });
            const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: unknown };
            if (e.code === 'ENOENT') return resolve({ code: null, stdout: '', stderr: '', failure: 'not_found' });
            if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
              return resolve({ code: null, stdout: '', stderr: `output larger than ${MAX_OUTPUT_BYTES} bytes`, failure: 'spawn_error' });
            }
            if (e.killed) return resolve({ code: null, stdout, stderr, failure: 'timeout' });
            if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
            // Killed by a signal we did not send: the tool ran but gave no verdict.
            if (e.signal) return resolve({ code: null, stdout, stderr: stderr || `killed by ${e.signal}` });
            // spawn itself failed (EACCES, EMFILE…).
            resolve({ code: null, stdout, stderr: stderr || e.message, failure: 'spawn_error' });
          },
        );
        // No probe reads input: a tool that would wait for it (powershell.exe does) sees end of input at once.
        child.stdin?.end();
      });
    },
    async readFile(path) {
      let handle;
      try {
        handle = await open(path, 'r');
        const { size } = await handle.stat();
        if (size > MAX_FILE_BYTES) return null;
        // /proc files report size 0, so read to the end rather than trusting stat.
        return await handle.readFile({ encoding: 'utf8' });
      } catch {
        return null;
      } finally {
        await handle?.close();
      }
    },
  };
}

/** What a recording holds for one command: full result, or just its stdout with exit 0. */
export type RecordedExec = ExecResult | string;

export interface ProbeRecording {
  platform?: Platform;
  isPrivileged?: boolean;
  /** ms since epoch returned by now(); default 2026-01-01T00:00:00Z. */
  now?: number;
  kernel?: string;
  arch?: string;
  timeZone?: string;
  /** Keyed by `commandLine(command, args)`. */
  commands?: Record<string, RecordedExec>;
  /** Keyed by absolute path; null or absent = missing. */
  files?: Record<string, string | null>;
}

export const RECORDING_DEFAULT_NOW = Date.UTC(2026, 0, 1);

/** Answers from a recording; a command that was not recorded behaves like one not installed. */
export function recordedProbeContext(recording: ProbeRecording): ProbeContext {
  const commands = recording.commands ?? {};
  const files = recording.files ?? {};
  return {
    platform: recording.platform ?? 'linux',
    // The agent is deployed as root; recordings say so unless they record otherwise.
    isPrivileged: recording.isPrivileged ?? true,
    kernel: recording.kernel ?? '6.1.0-test-amd64',
    arch: recording.arch ?? 'x64',
    timeZone: recording.timeZone ?? 'UTC',
    localTimeToEpochSeconds: (t) => wallClockToEpochSeconds(t, recording.timeZone ?? 'UTC'),
    now: () => recording.now ?? RECORDING_DEFAULT_NOW,
    async exec(command, args) {
      const hit = Object.hasOwn(commands, commandLine(command, args)) ? commands[commandLine(command, args)] : undefined;
      if (hit === undefined) return { code: null, stdout: '', stderr: '', failure: 'not_found' };
      return typeof hit === 'string' ? { code: 0, stdout: hit, stderr: '' } : { ...hit };
    },
    async readFile(path) {
      return Object.hasOwn(files, path) ? (files[path] ?? null) : null;
    },
  };
}

/** One question a probe asked, in the order asked, with how long the answer took. */
export type ProbeCall =
  | { kind: 'exec'; command: string; args: string[]; result: ExecResult; durationMs: number }
  | { kind: 'file'; path: string; content: string | null; durationMs: number };

/**
 * Wraps a context and keeps every answer it gives, so a live collection can be saved
 * (diagnostic bundle, new test fixture) and replayed with recordedProbeContext.
 */
export function recordingProbeContext(inner: ProbeContext): { ctx: ProbeContext; recording(): ProbeRecording; calls(): ProbeCall[] } {
  const commands: Record<string, RecordedExec> = {};
  const files: Record<string, string | null> = {};
  const calls: ProbeCall[] = [];
  let firstNow: number | undefined;
  const ctx: ProbeContext = {
    platform: inner.platform,
    isPrivileged: inner.isPrivileged,
    kernel: inner.kernel,
    arch: inner.arch,
    get timeZone() {
      return inner.timeZone;
    },
    localTimeToEpochSeconds: (t) => inner.localTimeToEpochSeconds(t),
    now() {
      const t = inner.now();
      firstNow ??= t;
      return t;
    },
    async exec(command, args, options) {
      const started = performance.now();
      const result = await inner.exec(command, args, options);
      commands[commandLine(command, args)] = result;
      calls.push({ kind: 'exec', command, args: [...args], result, durationMs: Math.round(performance.now() - started) });
      return result;
    },
    async readFile(path) {
      const started = performance.now();
      const text = await inner.readFile(path);
      files[path] = text;
      calls.push({ kind: 'file', path, content: text, durationMs: Math.round(performance.now() - started) });
      return text;
    },
  };
  return {
    ctx,
    recording: () => ({
      platform: inner.platform,
      isPrivileged: inner.isPrivileged,
      kernel: inner.kernel,
      arch: inner.arch,
      timeZone: inner.timeZone,
      ...(firstNow === undefined ? {} : { now: firstNow }),
      commands: { ...commands },
      files: { ...files },
    }),
    calls: () => [...calls],
  };
}
