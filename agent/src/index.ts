/**
 * Library surface of @postern/agent: what the load benchmarks (bench/) use to sign
 * evidence and DPoP proofs the way a real agent does. The CLI does not go through it.
 */
export type { DeviceKey } from './keystore/key-store.js';
export { signCompact } from './jws/sign-compact.js';
export { buildEvidenceClaims, signEvidence, type EvidenceInput } from './stream/evidence.js';
export { createDpopProof } from './dpop/proof.js';
export { parseChallenge, type Challenge } from './http/challenge.js';
