import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Whether a proxy of ours stands in front, and how many of them append to X-Forwarded-For. */
export interface ProxyTrust {
  trust: boolean;
  hops: number;
}

/**
 * The address limits are counted against. Without trust, the socket's peer: a client's own
 * X-Forwarded-For is ignored. With trust, the entry `hops` from the right of X-Forwarded-For:
 * each trusted proxy appends the address it was reached from, so the right-most `hops` entries
 * are theirs and anything to the left is whatever the client wrote (the left-most entry is the
 * one a spoofer controls). A header missing or naming no address falls back to the socket.
 */
export function clientAddress(request: IncomingMessage, proxy: ProxyTrust): string {
  const peer = normalize(request.socket.remoteAddress ?? 'unknown');
  if (!proxy.trust) return peer;
  const header = request.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return peer;
  const chosen = normalize(entries[Math.max(0, entries.length - proxy.hops)] ?? '');
  return isIP(chosen) ? chosen : peer;
}

/** One spelling per address: IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as IPv4. */
function normalize(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
