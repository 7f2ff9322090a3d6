import type { PublicP256Jwk } from '@postern/shared';
import { HttpError } from '../http/http-error.js';
import type { PolicyDeps } from '../policy-lifecycle/apply.js';
import { rejudgeDevices } from '../standing/rejudge.js';
import { toSeconds } from '../store/rows.js';
import type { Device } from '../store/schema.js';

/**
 * The two steps of a key rotation on the server. `start` records the new key as pending (the
 * enrolled key keeps working); `confirm`, asked with the new key, makes it the device's key and
 * the old one stops working. Both are idempotent, so an agent killed at any step asks again:
 * a repeated start with the same key changes nothing, a start with another key replaces the
 * pending one, and a repeated confirmation of the key already current answers as the first did.
 */

function refuseEnded(device: Device, now: number): void {
  const expires = toSeconds(device.expires_at);
  if (device.status === 'revoked' || (expires !== null && expires <= now)) throw new HttpError('revoked', 'this device is revoked or its enrollment has expired: its key cannot be rotated; enroll it again');
}

export async function startKeyRotation(deps: PolicyDeps, input: { deviceId: string; kid: string; newKid: string; newJwk: PublicP256Jwk }): Promise<{ pendingKid: string; startedAt: number }> {
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const device = await trx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!device || device.kid !== input.kid) throw new HttpError('unknown_key', 'the enrolled key of this device changed meanwhile: sign with its current key');
    refuseEnded(device, now);
    if (device.pending_kid === input.newKid && device.key_rotation_started_at) return { pendingKid: input.newKid, startedAt: toSeconds(device.key_rotation_started_at) ?? now };
    const taken = await trx
      .selectFrom('devices')
      .select('id')
      .where((eb) => eb.or([eb('kid', '=', input.newKid), eb('pending_kid', '=', input.newKid)]))
      .where('id', '!=', device.id)
      .executeTakeFirst();
    if (taken) throw new HttpError('already_enrolled', 'the new key is already another device\'s key: make a new one');
    await trx
      .updateTable('devices')
      .set({ pending_kid: input.newKid, pending_public_jwk: JSON.stringify(input.newJwk), key_rotation_started_at: new Date(now * 1000) })
      .where('id', '=', device.id)
      .execute();
    const actor = `device:${device.id}`;
    await rejudgeDevices(trx, deps.policies, [device.id], { now, cause: 'admin', actor, causes: [{ type: 'device.key_rotation_started', actor, deviceId: device.id, data: { kid: device.kid, pending_kid: input.newKid } }] });
    return { pendingKid: input.newKid, startedAt: now };
  });
}

/** `kid`: the key that signed the confirmation, the pending one (or, for a repeat, the current one). */
export async function confirmKeyRotation(deps: PolicyDeps, input: { deviceId: string; kid: string }): Promise<{ kid: string; rotatedAt: number }> {
  const now = deps.now();
  return deps.db.transaction().execute(async (trx) => {
    const device = await trx.selectFrom('devices').selectAll().where('id', '=', input.deviceId).forUpdate().executeTakeFirst();
    if (!device) throw new HttpError('unknown_key', 'no device has this key');
    refuseEnded(device, now);
    if (device.kid === input.kid) return { kid: device.kid, rotatedAt: toSeconds(device.key_created_at) ?? now };
    if (device.pending_kid !== input.kid || device.pending_public_jwk === null) throw new HttpError('unknown_key', 'no rotation to this key is pending: start the rotation again');
    await trx
      .updateTable('devices')
      .set({ kid: device.pending_kid, public_jwk: JSON.stringify(device.pending_public_jwk), key_created_at: new Date(now * 1000), pending_kid: null, pending_public_jwk: null, key_rotation_started_at: null })
      .where('id', '=', device.id)
      .execute();
    const actor = `device:${device.id}`;
    await rejudgeDevices(trx, deps.policies, [device.id], { now, cause: 'admin', actor, causes: [{ type: 'device.key_rotated', actor, deviceId: device.id, data: { from_kid: device.kid, to_kid: input.kid } }] });
    return { kid: input.kid, rotatedAt: now };
  });
}
