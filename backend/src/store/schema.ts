import type { ColumnType, Generated, GeneratedAlways, Insertable, Selectable, Updateable } from 'kysely';

/** Timestamps are `timestamptz`: read as Date, written as Date. */
type Timestamp = ColumnType<Date, Date | undefined, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;
/** jsonb columns are written as JSON text (pg would turn a JS array into a PostgreSQL array). */
type Json<T> = ColumnType<T, string, string>;

export interface EnrollmentTokensTable {
  id: Generated<string>;
  token_hash: string;
  group_name: string;
  max_uses: number;
  uses: Generated<number>;
  expires_at: Date;
  device_ttl_s: number | null;
  owner: string | null;
  requires_approval: boolean;
  created_at: Timestamp;
  created_by: string;
  /** The change (ticket) a non-human host is enrolled under, e.g. CHG-123. */
  change_ref: ColumnType<string | null, string | null | undefined, string | null>;
  revoked_at: NullableTimestamp;
  revoked_by: ColumnType<string | null, string | null | undefined, string | null>;
}

export type DeviceStatus = 'active' | 'pending_approval' | 'revoked';

export interface DevicesTable {
  id: Generated<string>;
  kid: string;
  public_jwk: Json<{ kty: 'EC'; crv: 'P-256'; x: string; y: string }>;
  ueid: string;
  machine_id: string;
  hostname: string;
  platform: string;
  serial: string | null;
  agent_version: string;
  group_name: string;
  owner: string | null;
  status: DeviceStatus;
  enrolled_at: Timestamp;
  expires_at: Date | null;
  approved_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  enrollment_token_id: string | null;
  /** Highest accepted seq; -1 before the first report. Strictly increasing across reconnects. */
  last_seq: Generated<number>;
  last_seen_at: NullableTimestamp;
  change_ref: ColumnType<string | null, string | null | undefined, string | null>;
  /** A pending enrollment nobody decided on ends then (POSTERN_PENDING_EXPIRY). */
  pending_until: NullableTimestamp;
  /** The still-enrolled device whose machine this enrollment came from: pending until `device relink`. */
  relink_of: ColumnType<string | null, string | null | undefined, string | null>;
  /** Key rotation in progress: the new key, proven but not yet confirmed. */
  pending_kid: ColumnType<string | null, string | null | undefined, string | null>;
  pending_public_jwk: ColumnType<PublicJwk | null, string | null | undefined, string | null>;
  key_rotation_started_at: NullableTimestamp;
  key_created_at: NullableTimestamp;
}

type PublicJwk = { kty: 'EC'; crv: 'P-256'; x: string; y: string };

/** What a group requires of its tokens and end dates (`group set`). */
export interface GroupSettingsTable {
  group_name: string;
  max_device_lifetime_s: number | null;
  require_owner: boolean;
  require_change_ref: boolean;
  updated_at: Date;
  updated_by: string;
}

/** Latest accepted posture, one row per device that has reported, kept always. */
export interface DevicePostureTable {
  device_id: string;
  seq: number;
  attested_at: Date;
  received_at: Date;
  posture: Json<unknown>;
  /** posture.os.version, kept by the database (migration 0008). */
  os_version: GeneratedAlways<string | null>;
}

/** A device's current standing as the judge decided it; one row per device from enrollment on. */
export interface DeviceStandingTable {
  device_id: string;
  verdict: string;
  score: number;
  checks: Json<unknown>;
  policy_id: string;
  evaluated_at: Date;
  verdict_since: Date;
  /** When the verdict may next change by itself; the due-time sweep's queue. */
  next_change_at: Date | null;
  /** Ids of the checks that fail now, kept by the database from `checks` (migration 0008). */
  failing: GeneratedAlways<string[]>;
}

/** The durable, append-only event stream; `seq` is gap-free across the cluster. */
export interface EventsTable {
  seq: number;
  at: Date;
  type: string;
  /** Who made the change: `admin:<name>`, `token:<id>`, `device:<id>` or `postern` (the system). */
  actor: string;
  device_id: string | null;
  data: Json<Record<string, unknown>>;
}

/** How far each consumer of the event stream has got. */
export interface EventConsumersTable {
  name: string;
  last_seq: number;
  durable: boolean;
  heartbeat_at: Date;
}

/** The overview's rollup of the event stream (migration 0010, fleet/fleet-rollup.ts): devices per verdict or status now. */
export interface FleetCountsTable {
  dimension: 'verdict' | 'status';
  key: string;
  devices: number;
}

/** Net devices a verdict gained in a five-minute bucket (floor(epoch / 300)). */
export interface FleetVerdictMovesTable {
  bucket: number;
  verdict: string;
  devices: number;
}

/** Set once the rollup was built from the tables, at stream position `built_seq`. */
export interface FleetRollupTable {
  name: string;
  built_seq: number;
  built_at: Date;
}

/** Attestation history, pruned by retention. */
export interface AttestationsTable {
  id: Generated<number>;
  device_id: string;
  seq: number;
  attested_at: Date;
  received_at: Date;
  posture: Json<unknown>;
  verdict: string;
  score: number;
}

export interface GatewayKeysTable {
  id: Generated<string>;
  name: string;
  key_hash: string;
  /** What the key may do: `authz` (forward-auth, compliance API), `ssf` (Shared Signals receiver). */
  scopes: ColumnType<string[], string | undefined, string>;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface AdminTokensTable {
  id: Generated<string>;
  name: string;
  token_hash: string;
  created_at: Timestamp;
  /** The account the token acts as. */
  admin_id: string;
}

export type AdminRole = 'viewer' | 'operator' | 'admin';

export interface AdminsTable {
  id: Generated<string>;
  name: string;
  email: string | null;
  role: AdminRole;
  disabled: Generated<boolean>;
  /** `<issuer> <sub>` of the OpenID Connect account that signs in as this admin. */
  oidc_subject: string | null;
  created_at: Timestamp;
}

export interface AdminSessionsTable {
  id: string;
  admin_id: string;
  token_hash: string;
  created_at: Timestamp;
  last_used_at: Date;
  expires_at: Date;
}

export interface AdminSignInLinksTable {
  id: string;
  admin_id: string;
  secret_hash: string;
  next_path: string;
  expires_at: Date;
  used_at: NullableTimestamp;
}

/** OpenID Connect sign-ins between the redirect to the provider and its callback, by the hash of `state`. */
export interface OidcSignInsTable {
  state_hash: string;
  code_verifier: string;
  nonce: string;
  next_path: string;
  expires_at: Date;
}

export interface DevicePageLinksTable {
  id: string;
  device_id: string;
  secret_hash: string;
  expires_at: Date;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: Json<Record<string, string>>;
  public_jwk: Json<Record<string, string>>;
  created_at: Timestamp;
  retired_at: NullableTimestamp;
}

/** Plain-HTTP nonces already used by an attestation, until they expire; WebSocket nonces live in the connection. */
export interface SpentNoncesTable {
  nonce_hash: string;
  expires_at: Date;
}

/** Secrets all replicas share, by name (`nonce-hmac`): base64url. */
export interface ServerSecretsTable {
  name: string;
  secret: string;
  created_at: Generated<Date>;
}

/** DPoP proof identifiers seen recently, shared by all replicas. */
export interface DpopJtisTable {
  jti_hash: string;
  expires_at: Date;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string;
  kind: string;
  device_id: string | null;
  detail: Json<Record<string, unknown>>;
  /** Hash of the previous entry (64 zeros for the first): see store/audit-chain.ts. */
  prev_hash: string;
  /** SHA-256 of this entry's canonical content, `prev_hash` included. */
  hash: string;
}

/** Immutable policy versions (a trigger refuses UPDATE and DELETE). */
export interface PolicyVersionsTable {
  id: Generated<number>;
  /** The slot: a device group, or `default` for every group without its own. */
  group_name: string;
  version: number;
  /** The parsed document (as written, before defaults), validated again when loaded. */
  document: Json<unknown>;
  source: string;
  format: 'yaml' | 'json';
  source_sha256: string;
  author: string;
  message: string;
  created_at: Timestamp;
}

export interface ActivePoliciesTable {
  group_name: string;
  version_id: number;
  activated_at: Timestamp;
  activated_by: string;
}

export interface DeviceExceptionsTable {
  id: Generated<string>;
  device_id: string;
  check_id: string;
  until: Date;
  reason: string;
  granted_by: string;
  granted_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
  ended_processed_at: NullableTimestamp;
}

/** RS256 keys of the Shared Signals transmitter (ssf/signing-key.ts). */
export interface SsfSigningKeysTable {
  kid: string;
  private_jwk: Json<Record<string, string>>;
  public_jwk: Json<Record<string, string>>;
  created_at: Timestamp;
  retired_at: NullableTimestamp;
}

/** An SSF stream, owned by the gateway key that created it (ssf/streams.ts). */
export interface SsfStreamsTable {
  id: string;
  receiver_key_id: string;
  aud: Json<string[]>;
  description: string | null;
  events_requested: Json<string[]>;
  delivery_method: string;
  endpoint_url: string | null;
  authorization_header: string | null;
  min_verification_interval: number | null;
  status: string;
  status_reason: string | null;
  after_seq: ColumnType<number, number, number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  verification_requested_at: NullableTimestamp;
  failing_since: NullableTimestamp;
  last_error: string | null;
}

export interface SsfSubjectsTable {
  stream_id: string;
  subject_key: string;
  subject: Json<Record<string, unknown>>;
  mode: 'added' | 'removed';
}

/** Signed SETs waiting for their receiver, in order per stream. */
export interface SsfOutboxTable {
  id: Generated<number>;
  stream_id: string;
  jti: string;
  event_type: string;
  seq: number | null;
  set_jwt: string;
  created_at: Timestamp;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claimed_until: NullableTimestamp;
  last_error: string | null;
  offered_at: NullableTimestamp;
}

export interface Database {
  enrollment_tokens: EnrollmentTokensTable;
  devices: DevicesTable;
  device_posture: DevicePostureTable;
  device_standing: DeviceStandingTable;
  events: EventsTable;
  event_consumers: EventConsumersTable;
  fleet_counts: FleetCountsTable;
  fleet_verdict_moves: FleetVerdictMovesTable;
  fleet_rollup: FleetRollupTable;
  attestations: AttestationsTable;
  gateway_keys: GatewayKeysTable;
  admin_tokens: AdminTokensTable;
  admins: AdminsTable;
  admin_sessions: AdminSessionsTable;
  admin_sign_in_links: AdminSignInLinksTable;
  oidc_sign_ins: OidcSignInsTable;
  device_page_links: DevicePageLinksTable;
  signing_keys: SigningKeysTable;
  spent_nonces: SpentNoncesTable;
  server_secrets: ServerSecretsTable;
  dpop_jtis: DpopJtisTable;
  audit_log: AuditLogTable;
  policy_versions: PolicyVersionsTable;
  active_policies: ActivePoliciesTable;
  device_exceptions: DeviceExceptionsTable;
  ssf_signing_keys: SsfSigningKeysTable;
  ssf_streams: SsfStreamsTable;
  ssf_subjects: SsfSubjectsTable;
  ssf_outbox: SsfOutboxTable;
  group_settings: GroupSettingsTable;
}

export type Device = Selectable<DevicesTable>;
export type NewDevice = Insertable<DevicesTable>;
export type DeviceUpdate = Updateable<DevicesTable>;
export type EnrollmentToken = Selectable<EnrollmentTokensTable>;
export type DevicePosture = Selectable<DevicePostureTable>;
export type DeviceStanding = Selectable<DeviceStandingTable>;
export type EventRow = Selectable<EventsTable>;
export type PolicyVersion = Selectable<PolicyVersionsTable>;
export type DeviceException = Selectable<DeviceExceptionsTable>;
export type AuditRow = Selectable<AuditLogTable>;
export type GroupSettings = Selectable<GroupSettingsTable>;
