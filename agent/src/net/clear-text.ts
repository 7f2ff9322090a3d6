import { isLoopbackHost } from '@postern/shared';
import { AgentError } from '../errors.js';

export { isLoopbackHost };

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
