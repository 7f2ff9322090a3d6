import { CloseCode } from '@postern/shared';
import type { Kysely } from 'kysely';
import type { ConsumerSpec } from '../events/consumer.js';
import type { StreamEvent } from '../events/types.js';
import { DEFAULT_SLOT } from '../policy/default-policy.js';
import type { PolicyCache } from '../policy-lifecycle/policy-cache.js';
import type { Logger } from '../logging/logger.js';
import type { Database } from '../store/schema.js';
import type { ConnectionRegistry } from './connection-registry.js';

/**
 * The agent streams' side of the event stream, on every replica, for the streams it holds: a
 * revoked, denied or expired device's streams are closed with 4403; an agent whose standing
 * was changed by something other than its own report is asked to `collect` now.
 */
export function streamFanOut(deps: { db: Kysely<Database>; policies: PolicyCache; connections: ConnectionRegistry; log?: Logger }): ConsumerSpec {
  const { connections } = deps;
  const collect = (deviceId: string | null) => {
    if (deviceId) for (const connection of connections.forDevice(deviceId)) connection.send({ type: 'collect' });
  };
  const end = (event: StreamEvent, message: string) => {
    const deviceId = event.device_id;
    if (!deviceId) return;
    let closed = 0;
    for (const connection of connections.forDevice(deviceId)) {
      connection.send({ type: 'error', code: 'revoked', message });
      connection.close(CloseCode.revoked, 'device revoked');
      closed++;
    }
    // One line per revocation on each replica, with what this replica did about it.
    const reason = event.type === 'device.revoked' ? event.data.reason : 'denied';
    deps.log?.info({ device: deviceId, actor: event.actor, reason, streams_closed: closed }, 'device revoked');
  };
  return {
    name: 'stream-fan-out',
    durable: false,
    async handle(events: readonly StreamEvent[]) {
      for (const event of events) {
        switch (event.type) {
          case 'device.revoked':
            end(event, REVOKED_MESSAGE[event.data.reason]);
            break;
          case 'device.key_rotated':
            // A stream authenticated with the old key ends: the agent comes back with the new one.
            for (const connection of connections.forDevice(event.device_id ?? '')) connection.close(CloseCode.authenticationFailed, 'device key rotated: connect again with the new key');
            break;
          case 'device.denied':
            end(event, 'this device\'s enrollment was denied by an administrator');
            break;
          case 'device.approved':
          case 'device.extended':
          case 'device.relinked':
          case 'device.group_changed':
          case 'exception.granted':
          case 'exception.ended':
            collect(event.device_id);
            break;
          case 'device.verdict_changed':
            // Gone stale while connected: the agent should have reported; ask it to.
            if (event.data.cause === 'time' && event.data.to === 'unknown') collect(event.device_id);
            break;
          case 'policy.applied':
            // The cache first (its own consumer may not have run yet), so the reports asked for are judged by the new version.
            await deps.policies.reload();
            await collectGroup(deps, event.data.group);
            break;
          default:
            break;
        }
      }
    },
  };
}

const REVOKED_MESSAGE: Record<'admin' | 'expired' | 'pending_expired' | 'relinked' | 'unenrolled', string> = {
  admin: 'this device has been revoked by an administrator',
  expired: "this device's enrollment has ended: ask your administrator to extend it or enroll again",
  pending_expired: "this device's enrollment was not approved in time: ask your administrator, then enroll again",
  relinked: 'this device was replaced by a new enrollment of the same machine',
  unenrolled: 'this device unenrolled itself',
};

/** Asks this replica's connected agents judged by `slot` to report, looking up their groups in pages (a group may have changed since they connected). */
async function collectGroup(deps: { db: Kysely<Database>; policies: PolicyCache; connections: ConnectionRegistry }, slot: string): Promise<void> {
  const connected = deps.connections.deviceIds();
  for (let i = 0; i < connected.length; i += 1000) {
    const rows = await deps.db.selectFrom('devices').select(['id', 'group_name']).where('id', 'in', connected.slice(i, i + 1000)).execute();
    for (const row of rows) {
      const judgedBy = deps.policies.hasOwn(row.group_name) ? row.group_name : DEFAULT_SLOT;
      if (judgedBy === slot || row.group_name === slot) for (const connection of deps.connections.forDevice(row.id)) connection.send({ type: 'collect' });
    }
  }
}
