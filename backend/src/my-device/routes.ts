import type { Router } from '@koa/router';
import { uuid } from '@postern/shared';
import { z } from 'zod';
import { securityHeaders } from '../auth/security-headers.js';
import { htmlMessage } from '../auth/sign-in.js';
import type { Backend } from '../context.js';
import { decide } from '../decisions/decide.js';
import { checkDpopProof, DpopInvalid, replayedProof, spendJtis } from '../decisions/dpop.js';
import { HttpError } from '../http/http-error.js';
import { readJson } from '../http/read-json.js';
import { devicePage } from './page.js';
import { createPageLink, deviceOfPageLink, MY_DEVICE_PATH, PAGE_LINK_TTL_S } from './page-links.js';

export const MY_DEVICE_LINKS_PATH = '/v1/my-device/links';
export const pageLinkBody = z.object({
  device_id: uuid,
  /** A nonce from GET /v1/nonce; the DPoP proof's `ath` is its hash, so the proof is fresh by the server's word. */
  nonce: z.string().min(16).max(64),
});
export const pageLinkCreated = z.object({ url: z.string(), expires_at: z.number().int() });
export const myDeviceQuery = z.object({ t: z.string().max(200).optional() });

const HOW_TO_GET_THERE = 'On the device, run <code>postern-agent status</code>: it prints a link to this page for that device, valid for 15 minutes.';

/**
 * The "your device" page for the person at a blocked device: the agent asks for a short-lived link
 * with a DPoP proof signed by the device's own key; the link shows that device only, with no account.
 */
export function myDeviceRoutes(router: Router, backend: Backend): void {
  router.post(MY_DEVICE_LINKS_PATH, async (ctx) => {
    ctx.set('cache-control', 'no-store');
    const body = await readJson(ctx, pageLinkBody);
    const now = backend.now();
    if (backend.httpNonces.expiry(body.nonce, now) === null) throw new HttpError('stale_nonce', 'the nonce is not one this server issued, or it expired: get a fresh one from GET /v1/nonce');
    const device = await backend.db.selectFrom('devices').select(['id', 'kid', 'status']).where('id', '=', body.device_id).executeTakeFirst();
    if (!device) throw new HttpError('unknown_device', `no device ${body.device_id}: enroll it again with \`postern-agent enroll --force\``);
    if (device.status === 'revoked') throw new HttpError('revoked', 'this device was revoked: ask your administrator, then enroll it again');
    const proof = ctx.get('dpop');
    if (!proof) throw new HttpError('invalid_dpop_proof', 'the "DPoP" proof header is missing: sign a proof for this request with the device key');
    try {
      // The agent signs the server URL it enrolled with, which is this server's public URL (the issuer), also behind a proxy.
      const spend = await checkDpopProof(proof, { method: 'POST', url: `${backend.issuer}${MY_DEVICE_LINKS_PATH}`, accessToken: body.nonce, jkt: device.kid, now }, backend.publicKeys);
      const [fresh] = await spendJtis(backend.db, [spend]);
      if (!fresh?.ok || !fresh.value) throw replayedProof();
    } catch (error) {
      if (error instanceof DpopInvalid) throw new HttpError('invalid_dpop_proof', error.message);
      throw error;
    }
    const { secret, expiresAt } = await createPageLink(backend.db, device.id, now);
    ctx.status = 201;
    const created: z.infer<typeof pageLinkCreated> = { url: `${backend.issuer}${MY_DEVICE_PATH}?t=${secret}`, expires_at: expiresAt };
    ctx.body = created;
  });

  router.get(MY_DEVICE_PATH, securityHeaders(), async (ctx) => {
    const query = myDeviceQuery.safeParse(ctx.query);
    const presented = query.success ? query.data.t : undefined;
    if (!presented) return htmlMessage(ctx, 200, 'Your device', `This page shows why a device may not reach protected applications, and what to do. ${HOW_TO_GET_THERE}`);
    const now = backend.now();
    const link = await deviceOfPageLink(backend.db, presented, now);
    const decision = link ? await decide(backend.db, link.deviceId) : null;
    if (!link || !decision) return htmlMessage(ctx, 401, 'This link has expired', `A device page link works for ${PAGE_LINK_TTL_S / 60} minutes. ${HOW_TO_GET_THERE}`);
    ctx.type = 'html';
    ctx.body = devicePage(decision, now, link.expiresAt);
  });
}
