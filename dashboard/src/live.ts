import { authHeaders } from './api.js';
import type { StreamEvent } from './types.js';

type Listener = (event: StreamEvent) => void;

/**
 * The fleet's live changes: server-sent events read with fetch (so a pasted admin token can be
 * sent as a header, which EventSource cannot), reconnecting with Last-Event-ID so nothing is
 * missed. One connection for the whole app; pages subscribe and unsubscribe.
 */
class LiveFeed {
  private readonly listeners = new Set<Listener>();
  private readonly resetListeners = new Set<() => void>();
  private last: number | null = null;
  private controller: AbortController | null = null;
  private retryMs = 1000;
  connected = false;
  private readonly stateListeners = new Set<(connected: boolean) => void>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    this.start();
    return () => this.listeners.delete(listener);
  }

  /** Called when the feed was too far behind to replay: figures must be read again. */
  onReset(listener: () => void): () => void {
    this.resetListeners.add(listener);
    return () => this.resetListeners.delete(listener);
  }

  onState(listener: (connected: boolean) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
  }

  private setConnected(value: boolean): void {
    this.connected = value;
    for (const listener of this.stateListeners) listener(value);
  }

  private start(): void {
    if (this.controller) return;
    this.controller = new AbortController();
    void this.run(this.controller.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...authHeaders() };
        if (this.last !== null) headers['last-event-id'] = String(this.last);
        const response = await fetch('/v1/admin/fleet/events', { headers, credentials: 'same-origin', signal, cache: 'no-store' });
        if (!response.ok || !response.body) throw new Error(`live feed answered ${response.status}`);
        this.setConnected(true);
        this.retryMs = 1000;
        await this.read(response.body.getReader());
      } catch {
        // Reconnect below.
      }
      this.setConnected(false);
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, 15_000);
    }
  }

  private async read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        this.dispatch(text.slice(0, end));
        text = text.slice(end + 2);
      }
    }
  }

  private dispatch(block: string): void {
    let id: string | null = null;
    let type = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) type = line.slice(7);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (id !== null && /^\d+$/.test(id)) this.last = Number(id);
    if (type === 'reset') {
      for (const listener of this.resetListeners) listener();
      return;
    }
    if (data.length === 0) return;
    const event = JSON.parse(data.join('\n')) as StreamEvent;
    for (const listener of this.listeners) listener(event);
  }

  /** Start after this seq (the overview's), when nothing was read yet. */
  startAfter(seq: number): void {
    if (this.last === null) this.last = seq;
  }
}

export const liveFeed = new LiveFeed();
