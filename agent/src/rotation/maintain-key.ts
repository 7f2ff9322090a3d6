import { deviceHttp } from '../enrollment/device-request.js';
import { reasonOf } from '../errors.js';
import type { KeyStore } from '../keystore/key-store.js';
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import { keyTooOld, rotateKey, rotationUnderWay } from './rotate-key.js';

/**
 * Before the agent connects: finish a key rotation cut short, or rotate a key older than the
 * server allows. Never fatal: when the server cannot be asked, the key the server last accepted
 * is kept and this is tried again before the next connection ('failed': that connection should
 * not end itself to rotate, or a server that cannot rotate would see the agent reconnect after
 * every report).
 */
export async function maintainKey(o: { store: StateStore; keyStore: KeyStore; log: Logger; server?: string | undefined; caFile?: string | undefined; fetch?: typeof fetch; now?: () => number }): Promise<'done' | 'failed'> {
  const device = await o.store.requireDevice();
  const unfinished = await rotationUnderWay(o.keyStore);
  if (!unfinished && !keyTooOld(device, (o.now ?? Date.now)())) return 'done';
  try {
    const outcome = await rotateKey({ store: o.store, keyStore: o.keyStore, http: await deviceHttp(device, { server: o.server, caFile: o.caFile, ...(o.fetch ? { fetch: o.fetch } : {}) }), ...(o.now ? { now: o.now } : {}) });
    if (outcome.rotated) o.log.info(`rotated the device key${unfinished ? ' (finishing a rotation cut short)' : ''}: ${outcome.from} → ${outcome.to}`);
    return 'done';
  } catch (err) {
    o.log.warn(`could not ${unfinished ? 'finish the key rotation' : 'rotate the device key'} (${reasonOf(err)}); keeping both keys and trying again before the next connection`);
    return 'failed';
  }
}
