import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ServerSettings } from '../config.js';
import { HttpError } from '../http/http-error.js';
import { UnauthenticatedStreams } from './unauthenticated-streams.js';

/**
 * The per-address limits of the unauthenticated endpoints, counted by rate-limiter-flexible.
 * Enrollment counters live in PostgreSQL when there is one (table `rate_limits`), so guesses
 * spread over replicas are counted together; a memory limiter stands in when the database fails,
 * so an outage does not turn into "no limit". Nonce counters are per replica, in memory: their
 * job is to protect this replica, and a shared counter would put back the database write per
 * request that self-verifying nonces took away; sign-in page counters likewise. PGlite serves one process: memory throughout.
 */
export interface Limits {
  /** `GET /v1/nonce`. */
  nonces: RateLimiterAbstract;
  /** Sign-in pages: `/auth/link`, `/auth/oidc/*`. */
  signIns: RateLimiterAbstract;
  /** Every enrollment attempt, generously: the work of checking a token. */
  enrollAttempts: RateLimiterAbstract;
  /** Refused enrollment attempts, strictly: guessing. */
  enrollRefusals: RateLimiterAbstract;
  /** Agent streams not yet authenticated (in this replica). */
  unauthenticatedStreams: UnauthenticatedStreams;
  close(): Promise<void>;
}

type LimitSettings = Pick<ServerSettings, 'noncesPerMinute' | 'signInsPerMinute' | 'enrollAttemptsPerMinute' | 'enrollFailuresPerMinute' | 'maxUnauthenticatedStreams' | 'maxUnauthenticatedStreamsPerAddress'>;

export function createLimits(settings: LimitSettings, databaseUrl: string | undefined): Limits {
  const perMinute = (keyPrefix: string, points: number) => ({ keyPrefix, points, duration: 60 });
  // Two connections are plenty: an enrollment makes one or two counter queries.
  const pool = databaseUrl ? new pg.Pool({ connectionString: databaseUrl, max: 2 }) : null;
  pool?.on('error', () => undefined); // an idle connection dropped by the database is reopened by the next query
  pool?.on('connect', (client) => client.on('error', () => undefined)); // and a checked-out one's error is its query's (store/open.ts)
  const shared = (keyPrefix: string, points: number): RateLimiterAbstract => {
    const options = perMinute(keyPrefix, points);
    if (!pool) return new RateLimiterMemory(options);
    return new RateLimiterPostgres({
      ...options,
      storeClient: pool,
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true, // by migration 0004
      insuranceLimiter: new RateLimiterMemory(options),
    });
  };
  return {
    nonces: new RateLimiterMemory(perMinute('nonce', settings.noncesPerMinute)),
    signIns: new RateLimiterMemory(perMinute('sign-in', settings.signInsPerMinute)),
    enrollAttempts: shared('enroll-attempt', settings.enrollAttemptsPerMinute),
    enrollRefusals: shared('enroll-refused', settings.enrollFailuresPerMinute),
    unauthenticatedStreams: new UnauthenticatedStreams(settings.maxUnauthenticatedStreams, settings.maxUnauthenticatedStreamsPerAddress),
    close: async () => {
      await pool?.end();
    },
  };
}

/** Seconds until the limiter lets this key through again, or null if it let this one through. */
export async function consume(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  try {
    await limiter.consume(key);
    return null;
  } catch (rejection) {
    // The library rejects with its result when over the limit, and with an Error only when its store fails without insurance.
    if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    throw rejection;
  }
}

/** `rate_limited` with Retry-After: what was limited, and when to come back. */
export function rateLimited(what: string, retryAfterS: number): HttpError {
  return new HttpError('rate_limited', `${what}: try again in ${retryAfterS} s`, { headers: { 'retry-after': String(retryAfterS) } });
}

/**
 * Timeouts of the HTTP server, for sockets that have not sent a request or sit idle between
 * requests: Node checks them every `connectionsCheckingInterval`, 30 s unless told otherwise.
 */
export const HTTP_SERVER_TIMEOUTS = {
  connectionsCheckingInterval: 1_000,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
} as const;
