import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'receiver.mjs');

/** What the receiver recorded of one SET. */
export interface ReceivedSet {
  via: 'push' | 'poll';
  at: number;
  jti: string | null;
  header: Record<string, unknown> | null;
  claims: (Record<string, unknown> & { txn?: string; events?: Record<string, Record<string, unknown>>; sub_id?: Record<string, unknown> }) | null;
  valid: boolean;
  problems: string[];
}

/** The independent SSF receiver (receiver.mjs) as a process: start, stop, restart on the same port and records. */
export class ReceiverProcess {
  private constructor(
    private child: ChildProcess,
    public url: string,
    private readonly options: { issuer: string; audience: string; recordDir: string; pushAuth?: string },
  ) {}

  static async start(options: { issuer: string; audience: string; pushAuth?: string }): Promise<ReceiverProcess> {
    const recordDir = await mkdtemp(join(tmpdir(), 'ssf-receiver-'));
    const full = { ...options, recordDir };
    const { child, url } = await ReceiverProcess.spawn(full, '0');
    return new ReceiverProcess(child, url, full);
  }

  private static spawn(options: { issuer: string; audience: string; recordDir: string; pushAuth?: string }, port: string): Promise<{ child: ChildProcess; url: string }> {
    const argv = [script, '--issuer', options.issuer, '--audience', options.audience, '--port', port, '--record', join(options.recordDir, 'received.jsonl'), ...(options.pushAuth ? ['--push-auth', options.pushAuth] : [])];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-10_000)));
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolve({ child, url: m[1] });
      });
      child.once('exit', (code) => reject(new Error(`ssf-receiver exited with ${code}: ${err}`)));
    });
  }

  get pushUrl(): string {
    return `${this.url}/push`;
  }

  async received(): Promise<ReceivedSet[]> {
    return (await fetch(`${this.url}/control/received`)).json() as Promise<ReceivedSet[]>;
  }

  /** Waits until `predicate` holds for what was received (each check re-reads the records). */
  async waitFor(predicate: (sets: ReceivedSet[]) => boolean, timeoutMs = 20_000): Promise<ReceivedSet[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sets = await this.received();
      if (predicate(sets)) return sets;
      if (Date.now() > deadline) throw new Error(`the receiver did not get what was expected in ${timeoutMs} ms; it has ${JSON.stringify(sets.map((s) => ({ jti: s.jti, txn: s.claims?.txn, events: s.claims?.events, problems: s.problems })))}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async setPushMode(push: 'accept' | 'slow' | 'unavailable'): Promise<void> {
    await fetch(`${this.url}/control/mode`, { method: 'POST', body: JSON.stringify({ push }) });
  }

  async poll(request: { url: string; key: string; maxEvents?: number; returnImmediately?: boolean; ack?: boolean }): Promise<{ moreAvailable: boolean; received: ReceivedSet[] }> {
    const response = await fetch(`${this.url}/control/poll`, { method: 'POST', body: JSON.stringify(request) });
    const body = (await response.json()) as { moreAvailable: boolean; received: ReceivedSet[]; error?: string };
    if (!response.ok) throw new Error(`the receiver's poll failed: ${body.error}`);
    return body;
  }

  private async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  /** Stops it; `whileDown` runs before it starts again on the same port, keeping its records. */
  async restart(whileDown?: () => Promise<void>): Promise<void> {
    await this.kill();
    await whileDown?.();
    const { child, url } = await ReceiverProcess.spawn(this.options, new URL(this.url).port);
    this.child = child;
    this.url = url;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.options.recordDir, { recursive: true, force: true });
  }
}
