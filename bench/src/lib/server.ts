/**
 * The backend under test: the real `postern-server serve` process, as deployed, on
 * PostgreSQL (DATABASE_URL) or on PGlite in its data directory. Measured from outside
 * through /proc; its JSON log goes to a file, as it would to journald.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { serverBin } from '@postern/testkit/paths';
import { run, stopChild, track } from './children.js';
import { cpuSeconds, memory, openFileLimit } from './proc.js';

/** Raises this shell's open-file limit as far as the machine allows (the hard limit, without privileges). */
export const RAISE_FILE_LIMIT = 'ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"';

export interface ServerOptions {
  /** PostgreSQL URL; without it the server uses PGlite under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Flags for node itself, e.g. --cpu-prof. */
  nodeArgs?: string[];
  env?: Record<string, string>;
  logFile: string;
  /** Start through `sh -c 'ulimit -n …'` to hold many connections. */
  raiseFileLimit?: boolean;
  /** Open the inspector on a free loopback port, so the bench can ask for a full GC before reading memory. */
  inspect?: boolean;
}

export class BenchServer {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly options: ServerOptions,
  ) {}

  static async start(options: ServerOptions): Promise<BenchServer> {
    const args = [...(options.nodeArgs ?? []), ...(options.inspect ? ['--inspect=127.0.0.1:0'] : []), serverBin, 'serve', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--data', options.dataDir];
    const log = openSync(options.logFile, 'a');
    const env = {
      ...process.env,
      POSTERN_LOG_LEVEL: 'info',
      // Load is the point here: thousands of simulated agents connect at once, so the caps that
      // protect a real server from floods of unauthenticated sockets would measure themselves.
      POSTERN_MAX_UNAUTHENTICATED_STREAMS: '100000',
      POSTERN_MAX_UNAUTHENTICATED_STREAMS_PER_ADDRESS: '100000',
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : { DATABASE_URL: '' }),
      ...options.env,
    };
    // `exec` keeps the pid: the process measured is node itself, not the shell.
    const child = options.raiseFileLimit
      ? spawn('/bin/sh', ['-c', `${RAISE_FILE_LIMIT}; exec "$@"`, 'sh', process.execPath, ...args], { env, stdio: ['ignore', 'pipe', log] })
      : spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    track(child);
    const url = await readyUrl(child, options.logFile);
    child.stdout?.resume();
    return new BenchServer(child, url, options);
  }

  get pid(): number {
    return this.child.pid as number;
  }

  cpuSeconds(): number {
    return cpuSeconds(this.pid);
  }

  memory(): { rss: number; peak: number } {
    return memory(this.pid);
  }

  openFileLimit(): number {
    return openFileLimit(this.pid);
  }

  /** An admin command of the real CLI against this server (it finds the URL and token in the data directory). */
  async adminCli<T>(args: string[]): Promise<T> {
    const r = await run(process.execPath, [serverBin, ...args, '--data', this.options.dataDir, '--json'], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`postern-server ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /**
   * A full garbage collection in the server (inspector: HeapProfiler.collectGarbage), so
   * memory read next is what it holds, not garbage it has not collected yet.
   */
  async collectGarbage(): Promise<void> {
    if (!this.options.inspect) throw new Error('start the server with inspect: true to collect garbage');
    const log = await readFile(this.options.logFile, 'utf8');
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(log)?.[1];
    if (!url) throw new Error('the server did not print its inspector URL');
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the inspector within 60 s')), 60_000);
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
      ws.on('message', (data) => {
        if ((JSON.parse(data.toString()) as { id?: number }).id === 1) {
          clearTimeout(timer);
          resolve();
        }
      });
    }).finally(() => ws.close());
  }

  async metricsText(): Promise<string> {
    return (await fetch(`${this.url}/metrics`)).text();
  }

  /** SIGTERM, as systemd would: the server closes cleanly (and writes --cpu-prof output). */
  async stop(graceMs = 60_000): Promise<void> {
    await stopChild(this.child, 'SIGTERM', graceMs);
  }
}

/** The URL from the server's start-up line (`… ready at http://…`), or why it never came. */
async function readyUrl(child: ChildProcess, logFile: string): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`postern-server did not start within 60 s (log: ${logFile})`)), 60_000);
    child.once('exit', (code) => reject(new Error(`postern-server exited with ${code} before it was ready (log: ${logFile})`)));
  });
  const announced = (async () => {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      const url = /ready at (http:\/\/\S+)/.exec(line)?.[1];
      if (url) return url;
    }
    throw new Error(`postern-server closed its output before it was ready (log: ${logFile})`);
  })();
  try {
    return await Promise.race([announced, failed]);
  } finally {
    clearTimeout(timer);
    failed.catch(() => undefined);
  }
}
