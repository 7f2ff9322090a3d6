import { isIPv4 } from 'node:net';
import { AgentError } from '../errors.js';

/**
 * Whether `hostname` (as `URL` spells it) names this machine without a network in
 * between: `localhost`, 127.0.0.0/8 or ::1. Decided from the URL alone, never by a DNS
 * lookup: a name that resolves to 127.0.0.1 today may resolve elsewhere tomorrow.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (host === '[::1]' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/**
 * Refuses an `http://` URL to another machine before anything is sent: the
 * enrollment token, reports, result tokens and DPoP proofs would cross the network
 * readable by anyone on the way, who could then use them.
 */
export function refuseClearText(url: URL, words: { what: string; carries: string } = SERVER): void {
  if (url.protocol !== 'http:' || isLoopbackHost(url.hostname)) return;
  throw new AgentError(
    'insecure_server',
    `refusing ${words.what} ${url.origin}: over http:// ${words.carries} cross the network in clear text, where anyone on the way can read and use them; use https:// (with --ca FILE for a private CA), or a loopback address (127.0.0.1, ::1, localhost) for a local test`,
  );
}

const SERVER = { what: 'the server URL', carries: 'the enrollment token and every report' };
