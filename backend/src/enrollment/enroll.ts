import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { Kysely } from 'kysely';
import { deviceKid, ENROLL_TYP, enrollClaims, publicP256Jwk, type EnrollResponse } from '@postern/shared';
import { describeIssues } from '../http/describe-issues.js';
import { HttpError } from '../http/http-error.js';
import type { PolicyCache } from '../policy-lifecycle/policy-cache.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import type { Database } from '../store/schema.js';
import { consumeEnrollmentToken } from './tokens.js';

const MAX_SKEW_S = 300;

/** How long a pending enrollment waits for an administrator by default (POSTERN_PENDING_EXPIRY). */
export const DEFAULT_PENDING_EXPIRY_S = 7 * 86400;

/**
 * Enrolls a device from a self-signed request (the JWS embeds the new public key and proves
 * possession of it, as in ACME). The token is spent and the device created in one transaction.
 * A machine whose device is still enrolled (same machine id: a reinstall, or a copied disk) is
 * never silently enrolled twice: the new device waits, pending, for `device relink`.
 */
export async function enrollDevice(deps: { db: Kysely<Database>; policies: PolicyCache; settings?: { pendingExpiryS: number } }, request: string, options: { now: number }): Promise<EnrollResponse> {
  const { db, policies } = deps;
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(request);
  } catch {
    throw new HttpError('malformed', 'the enrollment request is not a readable JWS');
  }
  if (header.alg !== 'ES256') throw new HttpError('bad_signature', `algorithm ${JSON.stringify(header.alg)} is refused: enrollment requests must be signed ES256`);
  if (header.typ !== ENROLL_TYP) throw new HttpError('malformed', `the JWS header typ must be "${ENROLL_TYP}"`);
  const jwk = publicP256Jwk.safeParse(header.jwk);
  if (!jwk.success) throw new HttpError('malformed', 'the JWS header must carry the device public key as a P-256 "jwk" without private members');

  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(request, await importJWK(jwk.data, 'ES256'), { algorithms: ['ES256'] }));
  } catch {
    throw new HttpError('bad_signature', 'the enrollment request signature does not verify with its embedded key');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    throw new HttpError('malformed', 'the enrollment claims are not JSON');
  }
  const parsed = enrollClaims.safeParse(json);
  if (!parsed.success) throw new HttpError('malformed', `the enrollment claims do not match the protocol: ${describeIssues(parsed.error.issues)}`);
  const claims = parsed.data;
  if (Math.abs(options.now - claims.iat) > MAX_SKEW_S) throw new HttpError('clock_skew', `iat is ${claims.iat - options.now} s away from the server's clock: synchronise the device clock`);

  const kid = await deviceKid(jwk.data);
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('devices').select('id').where('kid', '=', kid).executeTakeFirst();
    // Checked before spending the token, so a retried enrollment does not burn a use.
    if (existing) throw new HttpError('already_enrolled', `this key is already enrolled as device ${existing.id}`);
    const token = await consumeEnrollmentToken(trx, claims.enrollment_token, options.now);
    const at = new Date(options.now * 1000);
    const sameMachine = await trx
      .selectFrom('devices')
      .select('id')
      .where('machine_id', '=', claims.machine_id)
      .where('status', '!=', 'revoked')
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
      .orderBy('enrolled_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    const relinkOf = sameMachine?.id ?? null;
    const expiresAt = token.device_ttl_s === null ? null : new Date((options.now + token.device_ttl_s) * 1000);
    const status = token.requires_approval || relinkOf !== null ? 'pending_approval' : 'active';
    const pendingExpiryS = deps.settings?.pendingExpiryS ?? DEFAULT_PENDING_EXPIRY_S;
    const device = await trx
      .insertInto('devices')
      .values({
        kid,
        public_jwk: JSON.stringify(jwk.data),
        ueid: claims.ueid,
        machine_id: claims.machine_id,
        hostname: claims.hostname,
        platform: claims.platform,
        serial: claims.serial ?? null,
        agent_version: claims.agent_version,
        group_name: token.group_name,
        owner: token.owner,
        change_ref: token.change_ref,
        status,
        expires_at: expiresAt,
        enrollment_token_id: token.id,
        pending_until: status === 'pending_approval' ? new Date((options.now + pendingExpiryS) * 1000) : null,
        relink_of: relinkOf,
        key_created_at: at,
      })
      .onConflict((oc) => oc.column('kid').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!device) throw new HttpError('already_enrolled', 'this key was enrolled by a concurrent request');
    const expires = expiresAt === null ? null : Math.floor(expiresAt.getTime() / 1000);
    // Its first standing (pending or unknown until it reports), with the event that tells of it.
    await rejudgeDevices(trx, policies, [device.id], {
      now: options.now,
      cause: 'admin',
      actor: `token:${token.id}`,
      causes: [{ type: 'device.enrolled', actor: `token:${token.id}`, deviceId: device.id, data: { hostname: claims.hostname, platform: claims.platform, group: token.group_name, owner: token.owner, change_ref: token.change_ref, status, expires_at: expires, enrollment_token_id: token.id, relink_of: relinkOf } }],
    });
    return { device_id: device.id, status, expires_at: expires, report_interval_s: policies.forGroup(token.group_name).report_interval_s, relink_of: relinkOf };
  });
}
