/** Names fixed by the Postern wire contract (docs/protocol.md). */
export const SUBPROTOCOL = 'postern.v1';
export const AGENT_STREAM_PATH = '/v1/agent';
export const MAX_FRAME_BYTES = 64 * 1024;
export const EVIDENCE_PROFILE = 'urn:postern:evidence:1';
/** EAR's profile as its reference implementation (Veraison's `ear`) names it. */
export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';
/** `typ` of the attestation results the backend signs, as Veraison's `ear` writes it. */
export const EAR_TYP = 'JWT';
export const SWNAME = 'postern-agent';
export const ENROLL_TYP = 'postern-enroll+jwt';
export const EVIDENCE_TYP = 'eat+jwt';
export const DPOP_TYP = 'dpop+jwt';
/** The only JWS algorithm for device keys, server result keys and DPoP proofs. */
export const DEVICE_ALG = 'ES256';

/** WebSocket close codes (4xxx are Postern's own). */
export const CloseCode = {
  malformedFrame: 4400,
  authenticationFailed: 4401,
  revoked: 4403,
  attestationTimeout: 4408,
  rateLimited: 4429,
  frameTooLarge: 1009,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
