import { CloseCode } from '@postern/shared';

/** Why a connection ended, as a phrase for "…; reconnecting in 4s". */
export function describeClose(code: number, reason: string, error: string | undefined): string {
  const said = reason ? `: ${reason}` : '';
  switch (code) {
    case CloseCode.authenticationFailed:
      return `the server did not accept this device's attestation (${code}${said})`;
    case CloseCode.revoked:
      return `this device was revoked or its enrollment expired (${code}${said})`;
    case CloseCode.attestationTimeout:
      return `the server got no valid attestation in time (${code}${said})`;
    case CloseCode.rateLimited:
      return `the server is rate limiting this device (${code}${said})`;
    case CloseCode.malformedFrame:
      return `the server found a malformed frame (${code}${said})`;
    case CloseCode.frameTooLarge:
      return `a frame was too large (${code}${said})`;
    case 1006:
      // The transport's sentence already says what failed and what to do.
      return error ?? 'connection lost';
    default:
      return error ? `connection closed (${code}: ${error})` : `connection closed by the server (${code}${said})`;
  }
}
