import type { Router } from '@koa/router';
import { KEY_CONFIRM_TYP, keyConfirmRequest, keyRotationRequest, UNENROLL_TYP, unenrollRequest, type PublicP256Jwk } from '@postern/shared';
import type { Backend } from '../context.js';
import { unenrollDevice } from '../devices/lifecycle.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { spendHttpNonce } from '../nonces/http-nonce.js';
import type { Device } from '../store/schema.js';
import { confirmKeyRotation, startKeyRotation } from './rotate-key.js';
import { verifyDeviceRequest, verifyRotationRequest, type RequestContext } from './verify-device-request.js';

/**
 * What a device asks about its own key and enrollment, each request signed and bound to a
 * nonce from `GET /v1/nonce` (spent only once the signatures verified, as for HTTP reports):
 * key rotation (start, confirm) and unenrollment.
 */
export function deviceRequestRoutes(router: Router, backend: Backend): void {
  const context = (): RequestContext => ({ now: backend.now(), maxSkewS: backend.settings.maxSkewS, nonceIssued: (nonce) => backend.httpNonces.expiry(nonce, backend.now()) !== null });
  const spend = async (nonce: string) => {
    const expiresAt = backend.httpNonces.expiry(nonce, backend.now());
    if (expiresAt === null || !(await spendHttpNonce(backend.db, nonce, expiresAt))) throw new HttpError('stale_nonce', 'this nonce was already used: get a new one from GET /v1/nonce');
  };
  const enrolled = (device: Device | undefined) => (device ? { deviceId: device.id, kid: device.kid, jwk: device.public_jwk as PublicP256Jwk } : null);
  const byKid = (kid: string) => backend.db.selectFrom('devices').selectAll().where('kid', '=', kid).executeTakeFirst();

  router.post('/v1/device/key-rotation', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const { request } = await readJson(ctx, keyRotationRequest);
    const { holder, claims, newJwk } = await verifyRotationRequest(request, { ...context(), findEnrolled: async (kid) => enrolled(await byKid(kid)) });
    await spend(claims.nonce);
    const started = await startKeyRotation(backend, { deviceId: holder.deviceId, kid: holder.kid, newKid: claims.new_kid, newJwk });
    ctx.body = { device_id: holder.deviceId, pending_kid: started.pendingKid, started_at: started.startedAt };
  });

  router.post('/v1/device/key-rotation/confirm', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const { request } = await readJson(ctx, keyConfirmRequest);
    const { holder, kid, claims } = await verifyDeviceRequest(request, KEY_CONFIRM_TYP, {
      ...context(),
      // The pending key, or the current one when a confirmation is asked again after it took effect.
      findKey: async (kid) => {
        const device = await backend.db.selectFrom('devices').selectAll().where((eb) => eb.or([eb('pending_kid', '=', kid), eb('kid', '=', kid)])).executeTakeFirst();
        if (!device) return null;
        const jwk = device.pending_kid === kid ? device.pending_public_jwk : device.public_jwk;
        return jwk ? { deviceId: device.id, jwk: jwk as PublicP256Jwk } : null;
      },
    });
    await spend(claims.nonce);
    const confirmed = await confirmKeyRotation(backend, { deviceId: holder.deviceId, kid });
    ctx.body = { device_id: holder.deviceId, kid: confirmed.kid, rotated_at: confirmed.rotatedAt };
  });

  router.post('/v1/device/unenroll', async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const { request } = await readJson(ctx, unenrollRequest);
    const { holder, claims } = await verifyDeviceRequest(request, UNENROLL_TYP, { ...context(), findKey: async (kid) => enrolled(await byKid(kid)) });
    await spend(claims.nonce);
    const device = await unenrollDevice(backend, holder.deviceId);
    ctx.body = { device_id: device.id, status: 'revoked' };
  });
}
