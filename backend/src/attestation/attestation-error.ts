import type { StreamErrorCode } from '@postern/shared';

/** A refused attestation, with the protocol's error code. Nothing was stored. */
export class AttestationError extends Error {
  constructor(
    readonly code: StreamErrorCode,
    message: string,
  ) {
    super(message);
  }
}
