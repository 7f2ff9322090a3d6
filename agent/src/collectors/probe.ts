import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import os from 'node:os';
import type { Platform } from '@postern/shared';

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

function livePlatform(): Platform {
  const p = process.platform;
  if (p === 'linux' || p === 'darwin' || p === 'win32') return p;
  throw new Error(`postern-agent does not support the ${p} platform`);
}

function liveTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export function liveProbeContext(): ProbeContext {
  const platform = livePlatform();
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  if (platform !== 'win32') env.PATH = pathWithSbin(process.env.PATH);
  return {
    platform,
    // Windows elevation is detected by the win32 collectors (later issue); nothing reads it yet.
    isPrivileged: typeof process.getuid === 'function' && process.getuid() === 0,
    kernel: os.release(),
    arch: os.arch(),
    timeZone: liveTimeZone(),
    now: () => Date.now(),
    exec(command, args, options) {
      const timeout = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      return new Promise<ExecResult>((resolve) => {
        execFile(
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

/**
 * Wraps a context and keeps every answer it gives, so a live collection can be saved
 * (diagnostic bundle, new test fixture) and replayed with recordedProbeContext.
 */
export function recordingProbeContext(inner: ProbeContext): { ctx: ProbeContext; recording(): ProbeRecording } {
  const commands: Record<string, RecordedExec> = {};
  const files: Record<string, string | null> = {};
  let firstNow: number | undefined;
  const ctx: ProbeContext = {
    platform: inner.platform,
    isPrivileged: inner.isPrivileged,
    kernel: inner.kernel,
    arch: inner.arch,
    timeZone: inner.timeZone,
    now() {
      const t = inner.now();
      firstNow ??= t;
      return t;
    },
    async exec(command, args, options) {
      const result = await inner.exec(command, args, options);
      commands[commandLine(command, args)] = result;
      return result;
    },
    async readFile(path) {
      const text = await inner.readFile(path);
      files[path] = text;
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
  };
}
