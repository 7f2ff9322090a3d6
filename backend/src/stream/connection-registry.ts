import type { ServerFrame } from '@postern/shared';

export interface AgentConnection {
  send(frame: ServerFrame): void;
  close(code: number, reason: string): void;
}

/** Authenticated agent connections by device, so revocation and `collect` reach live streams. */
export class ConnectionRegistry {
  private readonly byDevice = new Map<string, Set<AgentConnection>>();

  add(deviceId: string, connection: AgentConnection): void {
    let set = this.byDevice.get(deviceId);
    if (!set) this.byDevice.set(deviceId, (set = new Set()));
    set.add(connection);
  }

  remove(deviceId: string, connection: AgentConnection): void {
    const set = this.byDevice.get(deviceId);
    if (!set) return;
    set.delete(connection);
    if (set.size === 0) this.byDevice.delete(deviceId);
  }

  forDevice(deviceId: string): AgentConnection[] {
    return [...(this.byDevice.get(deviceId) ?? [])];
  }

  /** Devices with at least one live, authenticated stream on this replica. */
  deviceIds(): string[] {
    return [...this.byDevice.keys()];
  }
}
