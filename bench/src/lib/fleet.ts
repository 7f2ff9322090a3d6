/**
 * The simulated fleet. Device i of a fleet has its own P-256 key, derived from the fleet seed
 * and i (HMAC-SHA256 → private scalar), so the process that seeds the database and the load
 * generators that sign for the devices agree on every key without shipping private keys
 * around. Each key is a distinct, real key; only its randomness is reproducible.
 */
import { createECDH, createHash, createHmac, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { DeviceKey } from '@postern/agent';
import { deviceKid, type Platform, type Posture, type PublicP256Jwk } from '@postern/shared';
import pg from 'pg';
import { fakePosture, type FakePostureOptions } from '@postern/testkit/postures';

export const FLEET_SEED = 'postern-bench-fleet-1';
export const FLEET_GROUP = 'employees';

export interface FleetDevice {
  index: number;
  id: string;
  kid: string;
  publicJwk: PublicP256Jwk;
  ueid: string;
  hostname: string;
  platform: 'linux' | 'darwin' | 'win32';
  /** Private scalar, base64url. */
  d: string;
}

const hmac = (seed: string, label: string) => createHmac('sha256', seed).update(label).digest();

export function deriveDevice(index: number, seed = FLEET_SEED): FleetDevice {
  const ecdh = createECDH('prime256v1');
  let d: Buffer | undefined;
  let publicKey: Buffer | undefined;
  for (let attempt = 0; attempt < 8 && !publicKey; attempt++) {
    d = hmac(seed, `key:${index}:${attempt}`);
    try {
      ecdh.setPrivateKey(d);
      publicKey = ecdh.getPublicKey();
    } catch {
      // A scalar outside [1, n-1] (odds about 2^-32): derive the next one.
    }
  }
  if (!d || !publicKey) throw new Error(`could not derive a key for device ${index}`);
  const x = publicKey.subarray(1, 33).toString('base64url');
  const y = publicKey.subarray(33, 65).toString('base64url');
  // RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
  const kid = createHash('sha256').update(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`).digest('base64url');
  const idBytes = hmac(seed, `id:${index}`).subarray(0, 16);
  idBytes[6] = ((idBytes[6] as number) & 0x0f) | 0x40;
  idBytes[8] = ((idBytes[8] as number) & 0x3f) | 0x80;
  const hex = idBytes.toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const ueid = Buffer.concat([Buffer.from([1]), hmac(seed, `ueid:${index}`).subarray(0, 16)]).toString('base64url');
  const kind = postureKind(index);
  const { platform } = postureOfKind[kind];
  // The posture kind is in the hostname, so SQL can tell devices of a kind apart (fillPostures).
  return { index, id, kid, publicJwk: { kty: 'EC', crv: 'P-256', x, y }, ueid, hostname: `bench-${index}-${kind}`, platform, d: d.toString('base64url') };
}

/**
 * The posture mix of the fleet: 70 % healthy Linux laptops, 10 % healthy Macs, 10 % Windows
 * with the public-profile firewall off and 10 % unencrypted Linux (both noncompliant), so the
 * policy takes every path and gateways see both 200 and 403.
 */
export type PostureKind = 'linux' | 'mac' | 'windows' | 'unencrypted';
const kinds = new Map<number, PostureKind>();
/** Drawn from a hash of the index, so any stride through the fleet (every 10th device…) still gets the mix. */
export function postureKind(index: number): PostureKind {
  let kind = kinds.get(index);
  if (!kind) {
    const k = (createHash('sha256').update(`posture:${index}`).digest()[0] as number) % 10;
    kind = k < 7 ? 'linux' : k === 7 ? 'mac' : k === 8 ? 'windows' : 'unencrypted';
    if (kinds.size < 200_000) kinds.set(index, kind);
  }
  return kind;
}

const postureOfKind: Record<PostureKind, Pick<FakePostureOptions, 'failing'> & { platform: Platform }> = {
  linux: { platform: 'linux' },
  mac: { platform: 'darwin' },
  windows: { platform: 'win32', failing: ['firewall'] },
  unencrypted: { platform: 'linux', failing: ['disk_encryption'] },
};

export function postureOf(index: number, now = Math.floor(Date.now() / 1000)): Posture {
  return fakePosture({ ...postureOfKind[postureKind(index)], now });
}

/** The signing side of a device: the agent's DeviceKey interface over the derived key. */
export function deviceKey(device: FleetDevice): DeviceKey & { keyObject: KeyObject } {
  const keyObject = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: device.publicJwk.x, y: device.publicJwk.y, d: device.d }, format: 'jwk' });
  return {
    kid: device.kid,
    publicJwk: device.publicJwk,
    keyObject,
    // The same bytes the agent's WebCrypto key yields: ECDSA P-256 over SHA-256, raw r || s.
    sign: async (data) => new Uint8Array(sign('sha256', data, { key: keyObject, dsaEncoding: 'ieee-p1363' })),
  };
}

/** `count` indices spread evenly over a fleet of `fleet` devices (all of them when count >= fleet). */
export function spread(fleet: number, count: number): number[] {
  if (count >= fleet) return Array.from({ length: fleet }, (_, i) => i);
  const step = fleet / count;
  return Array.from({ length: count }, (_, i) => Math.floor(i * step));
}

/** What a seed wrote: how long it took, and how many devices have a key a load generator can sign with. */
export interface SeedFigures {
  keySeconds: number;
  insertSeconds: number;
  /** Devices with their own derived P-256 key (the ones that report); the rest have a placeholder key and never report. */
  keyed: number;
}

/**
 * Writes `count` enrolled, active devices straight into the database, as enrollment would
 * (`backend/src/enrollment/enroll.ts` inserts the same columns, and a first standing). Only
 * the devices in `keyed` (default: all) get their derived key, the only ones load generators
 * can sign for; the others are written by one `generate_series` statement with a placeholder
 * key, the same id, hostname and posture kind as `deriveDevice` would give but never report.
 * A million devices take seconds instead of the minutes a million key derivations would.
 * The server must not be running on a PGlite data directory (PGlite has one process at a time).
 */
export async function seedDevices(target: { databaseUrl?: string; dataDir: string }, count: number, keyed?: readonly number[]): Promise<SeedFigures> {
  const started = performance.now();
  const indices = keyed ? [...new Set(keyed)].filter((i) => i < count) : Array.from({ length: count }, (_, i) => i);
  if (!indices.every((i) => Number.isInteger(i) && i >= 0)) throw new Error('seedDevices: keyed devices are given by their index, a whole number from 0');
  const devices = indices.map((i) => deriveDevice(i));
  const keySeconds = (performance.now() - started) / 1000;
  const first = devices[0];
  if (first && (await deviceKid(first.publicJwk)) !== first.kid) throw new Error('the bench computes device kids differently from @postern/shared');

  // Loaded here only: the load generators import this module too and need none of the backend.
  const { openStore } = await import('@postern/backend');
  const { sql } = await import('kysely');
  const store = await openStore({ databaseUrl: target.databaseUrl, dataDir: target.dataDir });
  const inserting = performance.now();
  try {
    const batch = 2000;
    for (let from = 0; from < devices.length; from += batch) {
      await store.db
        .insertInto('devices')
        .values(
          devices.slice(from, from + batch).map((d) => ({
            id: d.id,
            kid: d.kid,
            public_jwk: JSON.stringify(d.publicJwk),
            ueid: d.ueid,
            machine_id: createHash('sha256').update(d.hostname).digest('hex'),
            hostname: d.hostname,
            platform: d.platform,
            serial: null,
            agent_version: '0.1.0',
            group_name: FLEET_GROUP,
            owner: null,
            status: 'active' as const,
            expires_at: null,
            enrollment_token_id: null,
          })),
        )
        .execute();
    }
    if (indices.length < count) {
      // The posture kind as postureKind() draws it: the first byte of sha256("posture:<i>") mod 10.
      // The keyed indices as a literal array (whole numbers only): PostgreSQL hashes `<> all` of a constant, not of an unnest.
      const kind = sql`case when h.k < 7 then 'linux' when h.k = 7 then 'mac' when h.k = 8 then 'windows' else 'unencrypted' end`;
      await sql`
        insert into devices (id, kid, public_jwk, ueid, machine_id, hostname, platform, serial, agent_version, group_name, owner, status, expires_at, enrollment_token_id)
        select md5(${FLEET_SEED} || ':unkeyed:' || i)::uuid, 'bench-unkeyed-' || i, '{"kty":"EC","crv":"P-256","x":"unkeyed","y":"unkeyed"}', 'bench-unkeyed-' || i,
               md5('bench-' || i), 'bench-' || i || '-' || ${kind}, case when h.k = 7 then 'darwin' when h.k = 8 then 'win32' else 'linux' end,
               null, '0.1.0', ${FLEET_GROUP}, null, 'active', null, null
        from generate_series(0, ${count - 1}::int) i
        cross join lateral (select get_byte(sha256(convert_to('posture:' || i, 'UTF8')), 0) % 10 as k) h
        where i <> all(${sql.raw(`'{${indices.join(',')}}'`)}::int[])`.execute(store.db);
    }
    // Enrollment gives every device its first standing: unknown until it reports.
    await sql`
      insert into device_standing (device_id, verdict, score, checks, policy_id, evaluated_at, verdict_since, next_change_at)
      select id, 'unknown', 0, '[]', 'default@1', now(), now(), null from devices d
      where not exists (select 1 from device_standing s where s.device_id = d.id)`.execute(store.db);
    // The rows came without their events: the overview's rollup is built again from the tables at the next start.
    await store.db.deleteFrom('fleet_rollup').execute();
    await sql`analyze`.execute(store.db);
  } finally {
    await store.close();
  }
  return { keySeconds, insertSeconds: (performance.now() - inserting) / 1000, keyed: indices.length };
}

/**
 * Gives every device that has not reported yet a stored posture, copied from a device of the
 * same posture kind that did (PostgreSQL only, while the server runs): a fleet of 100k devices
 * that have all reported, without 100k reports. One history row each too, unless `history` is
 * false (no measure reads history, and at a million devices it is gigabytes).
 */
export async function fillPostures(databaseUrl: string, options: { history?: boolean } = {}): Promise<{ filled: number; seconds: number }> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const kind = `split_part(d.hostname, '-', 3)`;
    const templates = `select distinct on (${kind}) ${kind} as k, p.*, s.verdict, s.score, s.checks, s.policy_id, s.evaluated_at, s.next_change_at
      from device_posture p join devices d on d.id = p.device_id join device_standing s on s.device_id = p.device_id order by ${kind}`;
    const missing = `not exists (select 1 from device_posture x where x.device_id = d.id)`;
    await client.query('begin');
    if (options.history ?? true) {
      await client.query(
        `insert into attestations (device_id, seq, attested_at, received_at, posture, verdict, score)
         select d.id, 0, t.attested_at, t.received_at, t.posture, t.verdict, t.score
         from devices d join (${templates}) t on t.k = ${kind} where ${missing}`,
      );
    }
    // The standing as the judge gave it to the template device (the one writer's columns).
    await client.query(
      `update device_standing s set verdict = t.verdict, score = t.score, checks = t.checks, policy_id = t.policy_id, evaluated_at = t.evaluated_at, verdict_since = t.evaluated_at, next_change_at = t.next_change_at
       from devices d join (${templates}) t on t.k = ${kind} where s.device_id = d.id and ${missing}`,
    );
    const result = await client.query(
      `insert into device_posture (device_id, seq, attested_at, received_at, posture)
       select d.id, 0, t.attested_at, t.received_at, t.posture
       from devices d join (${templates}) t on t.k = ${kind} where ${missing}`,
    );
    await client.query('commit');
    // Vacuumed as well as analysed: the fill rewrote every standing, and autovacuum catching up
    // during the next windows would count as the database's CPU there.
    await client.query('vacuum (analyze) device_standing, device_posture');
    return { filled: result.rowCount ?? 0, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
