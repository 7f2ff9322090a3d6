import { AgentError } from '../errors.js';
import { refuseClearText } from '../net/clear-text.js';

/**
 * The backend's base URL as the person typed it, checked and without a trailing
 * slash. A path prefix is kept (`https://gw.example.com/postern`), so endpoints are
 * appended rather than resolved. `http://` is refused unless it names this machine.
 */
export function normalizeServerUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new AgentError('bad_server_url', `"${input}" is not a URL: give the server as http(s)://host[:port]`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AgentError('bad_server_url', `the server URL must start with https:// (or http:// to a loopback address, for a local test), not ${url.protocol}//`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new AgentError('bad_server_url', 'the server URL must not carry credentials, a query or a fragment: give only http(s)://host[:port][/path]');
  }
  refuseClearText(url);
  return url.toString().replace(/\/+$/, '');
}

/** `${server}/v1/agent` with http→ws and https→wss. */
export function agentStreamUrl(server: string, path: string): string {
  return `${server.replace(/^http/, 'ws')}${path}`;
}
