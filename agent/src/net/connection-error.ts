import { reasonOf } from '../errors.js';
import { isLoopbackHost } from './clear-text.js';
import { CA_FILE_ENV } from './trust-store.js';

/** Why a connection to the server failed, in words a person can act on. */
export interface ConnectionFailure {
  message: string;
  /** Trying again the same way cannot help (a TLS mismatch or a certificate refused). */
  final: boolean;
}

/** OpenSSL's verification results that mean "signed by a CA this device does not trust". */
const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * A failed connection to `server` (fetch's "fetch failed" with its cause, or a socket
 * error) as a sentence: a certificate refused says which check failed and what to do,
 * https to a plain-HTTP server says so, anything else is "could not reach".
 * @param caFile the private CA in use, if any, so an unknown CA names it
 */
export function describeConnectionError(err: unknown, server: string, caFile?: string): ConnectionFailure {
  const cause = rootCause(err);
  const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? '';
  const text = cause instanceof Error ? cause.message : String(cause);
  const host = hostOf(server);

  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /wrong version number|packet length too long/i.test(text)) {
    const fix = isLoopbackHost(new URL(server).hostname)
      ? `use ${server.replace(/^https:/, 'http:')} for this local server, or give it a certificate`
      : 'give the server (or a proxy in front of it) a TLS certificate and keep https://';
    return { final: true, message: `${server} speaks plain HTTP, not HTTPS (the TLS handshake got an HTTP answer: wrong version number): ${fix}` };
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return { final: true, message: `the TLS certificate of ${host} has expired: the server's administrator must renew it (or, if it is not old, check this device's clock)` };
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return { final: true, message: `the TLS certificate of ${host} is not valid yet: check this device's date and time` };
  }
  if (UNKNOWN_CA.has(code)) {
    const fix = caFile
      ? `it is not signed by the CA in ${caFile} nor by one this system trusts: check that ${caFile} holds the CA that issued the server's certificate`
      : `if the server uses a private CA, pass its certificate with --ca FILE (or ${CA_FILE_ENV})`;
    return { final: true, message: `the TLS certificate of ${host} is signed by a certificate authority this device does not trust (${code}): ${fix}` };
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return {
      final: true,
      message: `the TLS certificate of ${host} is for another name (${text}): use the server's name as its certificate spells it, or have its administrator add ${new URL(server).hostname} to the certificate`,
    };
  }
  if (code === 'CERT_REVOKED') {
    return { final: true, message: `the TLS certificate of ${host} has been revoked: tell the server's administrator` };
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') {
    return { final: true, message: `the TLS handshake with ${host} failed (${reasonOf(cause)}): check that ${server} is a Postern server speaking HTTPS` };
  }
  return { final: false, message: `could not reach ${server} (${reasonOf(cause)}): check the server URL and this device's network` };
}

/** fetch wraps the socket's error in `TypeError('fetch failed', { cause })`. */
function rootCause(err: unknown): unknown {
  let at = err;
  for (let depth = 0; depth < 4 && at instanceof Error && at.cause !== undefined; depth++) at = at.cause;
  return at;
}

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}
