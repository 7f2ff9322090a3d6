import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { dpopNonceModeFromEnv, type DpopNonceMode } from './decisions/dpop-nonce.js';
import { GATEWAY_KINDS, type GatewayKind } from './decisions/original-request.js';
import type { TlsFiles } from './http/tls-files.js';
import { ssfSettingsFromEnv, type SsfSettings } from './ssf/settings.js';
import { DEFAULT_PGLITE_MEMORY } from './store/pglite-memory.js';
import { parseDuration } from './time/duration.js';

/** Tunables read from the environment; each is checked, so a typo fails the start instead of the fleet. */
export interface ServerSettings {
  /** POSTERN_ATTESTATION_TIMEOUT_S: a new stream must attest within this. */
  attestationTimeoutS: number;
  /** POSTERN_ENROLL_FAILURES_PER_MINUTE: refused enrollments allowed per address. */
  enrollFailuresPerMinute: number;
  /** POSTERN_SWEEP_S: how often standings due to change by themselves (staleness, grace end, exception end, expiry) are looked for. */
  sweepS: number;
  /** POSTERN_ATTESTATION_RETENTION_DAYS: how long the history of reports is kept. */
  attestationRetentionDays: number;
  /** POSTERN_EVENT_RETENTION_DAYS: how long events are kept (and never before every consumer has passed them). */
  eventRetentionDays: number;
  // Limits (ratelimit/limits.ts): per client address, as `clientAddress` reads it.
  /** POSTERN_ENROLL_ATTEMPTS_PER_MINUTE: enrollment attempts per address, refused or not: bounds the work of checking tokens. */
  enrollAttemptsPerMinute: number;
  /** POSTERN_NONCES_PER_MINUTE: `GET /v1/nonce` per address, per replica. */
  noncesPerMinute: number;
  /** POSTERN_SIGN_INS_PER_MINUTE: sign-in pages (`/auth/link`, `/auth/oidc/*`) per address, per replica. */
  signInsPerMinute: number;
  /** POSTERN_MAX_UNAUTHENTICATED_STREAMS: agent streams open before their first valid attestation, per replica. */
  maxUnauthenticatedStreams: number;
  /** POSTERN_MAX_UNAUTHENTICATED_STREAMS_PER_ADDRESS: the same, per address. */
  maxUnauthenticatedStreamsPerAddress: number;
  /** POSTERN_TRUST_PROXY_HOPS: with POSTERN_TRUST_PROXY=1, how many proxies of ours append to X-Forwarded-For. */
  trustProxyHops: number;
  /** POSTERN_DECISION_CACHE_MAX_S: a cached standing is read again this long after it was read, and answers at most this long past the last moment it was known current while the database is unreachable. */
  decisionCacheMaxS: number;
  /** POSTERN_DECISION_CACHE_ENTRIES: device standings kept in memory for forward-auth and the compliance API (about 1.7 KB of heap each with the default policy's checks, measured). */
  decisionCacheEntries: number;
  /** POSTERN_PGLITE_SHARED_BUFFERS_MB: the embedded database's page cache (PostgreSQL's shared_buffers), resident for the life of the process; unused with DATABASE_URL. */
  pgliteSharedBuffersMB: number;
  /** POSTERN_PENDING_EXPIRY (a duration, default 7d): a pending enrollment nobody approves or denies is revoked after this. */
  pendingExpiryS: number;
  /** POSTERN_KEY_MAX_AGE (a duration, or `off`, the default): agents rotate a device key older than this. */
  keyMaxAgeS: number | null;
}

type NumericSetting = Exclude<keyof ServerSettings, 'pendingExpiryS' | 'keyMaxAgeS'>;

const SETTINGS: Record<NumericSetting, { env: string; fallback: number }> = {
  attestationTimeoutS: { env: 'POSTERN_ATTESTATION_TIMEOUT_S', fallback: 30 },
  enrollFailuresPerMinute: { env: 'POSTERN_ENROLL_FAILURES_PER_MINUTE', fallback: 10 },
  sweepS: { env: 'POSTERN_SWEEP_S', fallback: 1 },
  attestationRetentionDays: { env: 'POSTERN_ATTESTATION_RETENTION_DAYS', fallback: 30 },
  eventRetentionDays: { env: 'POSTERN_EVENT_RETENTION_DAYS', fallback: 30 },
  enrollAttemptsPerMinute: { env: 'POSTERN_ENROLL_ATTEMPTS_PER_MINUTE', fallback: 300 },
  noncesPerMinute: { env: 'POSTERN_NONCES_PER_MINUTE', fallback: 600 },
  signInsPerMinute: { env: 'POSTERN_SIGN_INS_PER_MINUTE', fallback: 60 },
  maxUnauthenticatedStreams: { env: 'POSTERN_MAX_UNAUTHENTICATED_STREAMS', fallback: 2000 },
  maxUnauthenticatedStreamsPerAddress: { env: 'POSTERN_MAX_UNAUTHENTICATED_STREAMS_PER_ADDRESS', fallback: 256 },
  trustProxyHops: { env: 'POSTERN_TRUST_PROXY_HOPS', fallback: 1 },
  decisionCacheMaxS: { env: 'POSTERN_DECISION_CACHE_MAX_S', fallback: 120 },
  decisionCacheEntries: { env: 'POSTERN_DECISION_CACHE_ENTRIES', fallback: 50_000 },
  pgliteSharedBuffersMB: { env: 'POSTERN_PGLITE_SHARED_BUFFERS_MB', fallback: DEFAULT_PGLITE_MEMORY.sharedBuffersMB },
};
const positive = z.coerce.number().positive().finite();
/** Counts (caps, hops, entries, per-minute budgets) are whole numbers: `POSTERN_TRUST_PROXY_HOPS=1.5` would index no address. */
const WHOLE: ReadonlySet<NumericSetting> = new Set(['enrollFailuresPerMinute', 'enrollAttemptsPerMinute', 'noncesPerMinute', 'signInsPerMinute', 'maxUnauthenticatedStreams', 'maxUnauthenticatedStreamsPerAddress', 'trustProxyHops', 'decisionCacheEntries', 'pgliteSharedBuffersMB']);

export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const settings = {
    pendingExpiryS: durationSetting(env, 'POSTERN_PENDING_EXPIRY', '7d', false) ?? 7 * 86400,
    keyMaxAgeS: durationSetting(env, 'POSTERN_KEY_MAX_AGE', 'off', true),
  } as ServerSettings;
  for (const [key, { env: name, fallback }] of Object.entries(SETTINGS) as Array<[NumericSetting, { env: string; fallback: number }]>) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      settings[key] = fallback;
      continue;
    }
    const whole = WHOLE.has(key);
    const parsed = (whole ? positive.int() : positive).safeParse(raw);
    if (!parsed.success) throw new Error(`${name}=${JSON.stringify(raw)} is not a positive ${whole ? 'whole number' : 'number'} (default ${fallback})`);
    settings[key] = parsed.data;
  }
  return settings;
}

/** A duration setting (`7d`, `90d`, `12h`), or null for `off`. */
function durationSetting(env: NodeJS.ProcessEnv, name: string, fallback: string, allowOff: boolean): number | null {
  const raw = (env[name] || fallback).trim();
  if (raw === 'off' && allowOff) return null;
  try {
    const seconds = parseDuration(raw);
    if (seconds > 0) return seconds;
  } catch {
    // said below
  }
  throw new Error(`${name}=${JSON.stringify(env[name])} is not a duration such as 12h, 7d or 90d${allowOff ? ', nor off' : ''} (default ${fallback})`);
}

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Public base URL; also the `iss` of signed results. Defaults to the listening URL. */
  publicUrl: string | undefined;
  trustProxy: boolean;
  /** POSTERN_GATEWAY: the forward-auth gateway whose headers name the original request; needs trustProxy. */
  gateway?: GatewayKind | undefined;
  /** POSTERN_DPOP_NONCE: forward-auth requires DPoP proofs to carry a server nonce (RFC 9449 §8), any replica's (1) or the answering replica's own (replica). */
  dpopNonce?: DpopNonceMode | null;
  /** Serve HTTPS and WSS with this certificate (PEM chain) and key; reread on SIGHUP. */
  tls?: TlsFiles | undefined;
  /** From the environment when absent (settingsFromEnv). */
  settings?: ServerSettings;
  /** OpenID Connect sign-in for the dashboard; absent when POSTERN_OIDC_ISSUER is unset. */
  oidc?: OidcSettings | undefined;
  /** The Shared Signals transmitter's (POSTERN_SSF_*); from the environment when absent. */
  ssf?: SsfSettings;
  /** POSTERN_PACKAGES_DIR: the agent packages served under /install/artefacts/ (default: dist/packages of this installation). */
  packagesDir?: string | undefined;
}

/** Who may sign in through OpenID Connect, and as what (README "Signing in"). */
export interface OidcSettings {
  /** POSTERN_OIDC_ISSUER: the provider's issuer URL (its discovery document is under it). */
  issuer: string;
  /** POSTERN_OIDC_CLIENT_ID, POSTERN_OIDC_CLIENT_SECRET: this server as the provider knows it. */
  clientId: string;
  clientSecret: string;
  /** POSTERN_OIDC_ROLE_CLAIM: the claim holding the person's groups (default `groups`). */
  roleClaim: string;
  /** POSTERN_OIDC_ROLES: `group=role,…`; a person gets the highest role any of their groups maps to. */
  roles: ReadonlyMap<string, 'viewer' | 'operator' | 'admin'>;
  /** POSTERN_OIDC_SCOPES: what to ask for (default `openid email profile`); some providers need a `groups` scope. */
  scopes: string;
}

const OIDC_ROLE = z.enum(['viewer', 'operator', 'admin']);

/** The OpenID Connect settings, all or nothing: a half-configured sign-in fails the start, saying what is missing. */
export function oidcSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): OidcSettings | undefined {
  const issuer = env.POSTERN_OIDC_ISSUER || undefined;
  const clientId = env.POSTERN_OIDC_CLIENT_ID || undefined;
  const clientSecret = env.POSTERN_OIDC_CLIENT_SECRET || undefined;
  const mapping = env.POSTERN_OIDC_ROLES || undefined;
  if (!issuer) {
    if (clientId || clientSecret || mapping) throw new Error('POSTERN_OIDC_CLIENT_ID, POSTERN_OIDC_CLIENT_SECRET or POSTERN_OIDC_ROLES is set without POSTERN_OIDC_ISSUER: set the issuer URL too, or unset them');
    return undefined;
  }
  if (!URL.canParse(issuer)) throw new Error(`POSTERN_OIDC_ISSUER=${JSON.stringify(issuer)} is not a URL: give the issuer as the provider documents it, e.g. https://login.example.com/realms/staff`);
  const missing = [!clientId && 'POSTERN_OIDC_CLIENT_ID', !clientSecret && 'POSTERN_OIDC_CLIENT_SECRET', !mapping && 'POSTERN_OIDC_ROLES'].filter(Boolean);
  if (missing.length || !clientId || !clientSecret || !mapping) throw new Error(`POSTERN_OIDC_ISSUER is set, but not ${missing.join(', ')}: OpenID Connect sign-in needs them all`);
  const roles = new Map<string, 'viewer' | 'operator' | 'admin'>();
  for (const pair of mapping.split(',').map((p) => p.trim()).filter(Boolean)) {
    const at = pair.lastIndexOf('=');
    const role = OIDC_ROLE.safeParse(pair.slice(at + 1).trim());
    if (at <= 0 || !role.success) throw new Error(`POSTERN_OIDC_ROLES: "${pair}" is not group=role with a role of viewer, operator or admin (e.g. sec-admins=admin,sec-ops=operator,it=viewer)`);
    roles.set(pair.slice(0, at).trim(), role.data);
  }
  return { issuer, clientId, clientSecret, roleClaim: env.POSTERN_OIDC_ROLE_CLAIM || 'groups', roles, scopes: env.POSTERN_OIDC_SCOPES || 'openid email profile' };
}

export const DEFAULT_PORT = 8700;

/** `--data`, else POSTERN_DATA_DIR, else /var/lib/postern for root, else the XDG data directory. */
export function resolveDataDir(flag?: string): string {
  if (flag) return resolve(flag);
  if (process.env.POSTERN_DATA_DIR) return resolve(process.env.POSTERN_DATA_DIR);
  if (process.getuid?.() === 0) return '/var/lib/postern';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'postern');
}

export function resolveServerConfig(flags: { port?: string; host?: string; data?: string; tlsCert?: string; tlsKey?: string }): ServerConfig {
  const rawPort = flags.port ?? process.env.POSTERN_PORT ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port ${JSON.stringify(rawPort)} is not a number from 0 to 65535`);
  return {
    host: flags.host ?? process.env.POSTERN_HOST ?? '127.0.0.1',
    port,
    dataDir: resolveDataDir(flags.data),
    databaseUrl: process.env.DATABASE_URL || undefined,
    publicUrl: process.env.POSTERN_PUBLIC_URL || undefined,
    trustProxy: process.env.POSTERN_TRUST_PROXY === '1',
    gateway: gatewayFromEnv(process.env),
    dpopNonce: dpopNonceModeFromEnv(process.env),
    tls: tlsFiles(flags.tlsCert ?? (process.env.POSTERN_TLS_CERT || undefined), flags.tlsKey ?? (process.env.POSTERN_TLS_KEY || undefined)),
    settings: settingsFromEnv(),
    oidc: oidcSettingsFromEnv(),
    ssf: ssfSettingsFromEnv(),
    packagesDir: process.env.POSTERN_PACKAGES_DIR ? resolve(process.env.POSTERN_PACKAGES_DIR) : undefined,
  };
}

/** Both or neither: a certificate without its key (or the reverse) is a mistake, not plain HTTP. */
function tlsFiles(cert: string | undefined, key: string | undefined): TlsFiles | undefined {
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new Error(`${cert ? '--tls-cert' : '--tls-key'} was given without ${cert ? '--tls-key' : '--tls-cert'} (env POSTERN_TLS_CERT, POSTERN_TLS_KEY): give both to serve HTTPS, or neither`);
  return { certFile: resolve(cert), keyFile: resolve(key) };
}

/** POSTERN_GATEWAY: one of the known gateways, and only behind a trusted proxy, whose headers alone may name the original request. */
export function gatewayFromEnv(env: NodeJS.ProcessEnv): GatewayKind | undefined {
  const raw = env.POSTERN_GATEWAY;
  if (raw === undefined || raw === '') return undefined;
  const kind = GATEWAY_KINDS.find((k) => k === raw);
  if (!kind) throw new Error(`POSTERN_GATEWAY=${JSON.stringify(raw)} is not one of ${GATEWAY_KINDS.join(', ')} (docs/gateways/README.md)`);
  if (env.POSTERN_TRUST_PROXY !== '1') throw new Error(`POSTERN_GATEWAY=${kind} needs POSTERN_TRUST_PROXY=1: the gateway's headers count only when the server is reachable through it alone`);
  return kind;
}

/** A setting that is on with 1, off with 0 or unset; anything else is a typo that stops the start. */
export function flagFromEnv(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new Error(`${name}=${JSON.stringify(raw)} must be 1 (on) or 0 (off)`);
}
