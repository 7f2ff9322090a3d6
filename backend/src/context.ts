import type { IncomingMessage } from 'node:http';
import type { Kysely } from 'kysely';
import type { Batches } from './batches.js';
import type { DpopNonces } from './decisions/dpop-nonce.js';
import type { ForwardedTrust } from './decisions/original-request.js';
import type { StandingCache } from './decisions/standing-cache.js';
import type { FleetFeed } from './fleet/live-feed.js';
import type { PublicKeyCache } from './keys/public-key-cache.js';
import type { ServerKeys } from './keys/signing-keys.js';
import type { Logger } from './logging/logger.js';
import type { Metrics } from './metrics/metrics.js';
import type { HttpNonces } from './nonces/http-nonce.js';
import type { PolicyCache } from './policy-lifecycle/policy-cache.js';
import type { Limits } from './ratelimit/limits.js';
import type { Database } from './store/schema.js';
import type { ConnectionRegistry } from './stream/connection-registry.js';

/** What every route and the stream share: built once in server.ts. */
export interface Backend {
  db: Kysely<Database>;
  /** Active policies per group, kept current by cluster events. */
  policies: PolicyCache;
  /** This process among the replicas sharing the database (names its event consumers and LISTEN connection). */
  replicaId: string;
  keys: ServerKeys;
  /** Imported device public keys, for attestations and DPoP proofs alike. */
  publicKeys: PublicKeyCache;
  /** Database work of the hot paths, batched across concurrent requests. */
  batches: Batches;
  /** Device standings in memory, kept current by the event stream: what forward-auth and the compliance API decide by. */
  standings: StandingCache;
  /** `iss` of the results this backend signs: its public URL. */
  issuer: string;
  metrics: Metrics;
  log: Logger;
  connections: ConnectionRegistry;
  /** The dashboard's live updates (server-sent events) of the browsers connected to this replica. */
  fleetFeed: FleetFeed;
  /** Seconds since the epoch; injected so tests can move the clock. */
  now(): number;
  settings: { maxSkewS: number; attestationTimeoutS: number; pendingExpiryS: number; keyMaxAgeS: number | null };
  /** Self-verifying `GET /v1/nonce` nonces, keyed by the MAC key all replicas share. */
  httpNonces: HttpNonces;
  /** Per-address counters of the unauthenticated endpoints. */
  limits: Limits;
  /** The address a request is counted against (http/client-address.ts: the socket, or the trusted proxy's hop). */
  clientAddress(request: IncomingMessage): string;
  /** Forward-auth: which gateway's headers name the original request, and the DPoP nonces it asks for (null: none). */
  forwardAuth: { forwarded: ForwardedTrust; dpopNonces: DpopNonces | null };
}
