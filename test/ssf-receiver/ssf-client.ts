/** What a receiver sends a transmitter's management API (SSF 1.0 §8.1), with its gateway key. */
export const CAEP_COMPLIANCE = 'https://schemas.openid.net/secevent/caep/event-type/device-compliance-change';
export const CAEP_SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
export const SSF_VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
export const PUSH = 'urn:ietf:rfc:8935';
export const POLL = 'urn:ietf:rfc:8936';

export interface SsfConfiguration {
  issuer: string;
  jwks_uri: string;
  configuration_endpoint: string;
  status_endpoint: string;
  add_subject_endpoint: string;
  remove_subject_endpoint: string;
  verification_endpoint: string;
  delivery_methods_supported: string[];
  [member: string]: unknown;
}

export interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string | string[];
  events_delivered: string[];
  delivery: { method: string; endpoint_url?: string };
  [member: string]: unknown;
}

export class SsfClient {
  private constructor(
    readonly configuration: SsfConfiguration,
    private readonly key: string,
  ) {}

  static async discover(issuer: string, key: string): Promise<SsfClient> {
    const response = await fetch(`${issuer}/.well-known/ssf-configuration`);
    if (!response.ok) throw new Error(`ssf-configuration answered ${response.status}`);
    return new SsfClient((await response.json()) as SsfConfiguration, key);
  }

  /** One call with the receiver's key; answers the status and the parsed body (null when empty). */
  async call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
  }

  async createStream(body: Record<string, unknown>): Promise<StreamConfiguration> {
    const created = await this.call<StreamConfiguration>('POST', this.configuration.configuration_endpoint, body);
    if (created.status !== 201) throw new Error(`creating a stream answered ${created.status}: ${JSON.stringify(created.body)}`);
    return created.body;
  }

  status(streamId: string) {
    return this.call<{ stream_id: string; status: string; reason?: string; delivery: { pending: number; failing_since: number | null; last_error: string | null } }>('GET', `${this.configuration.status_endpoint}?stream_id=${streamId}`);
  }

  setStatus(streamId: string, status: 'enabled' | 'paused' | 'disabled', reason?: string) {
    return this.call('POST', this.configuration.status_endpoint, { stream_id: streamId, status, ...(reason ? { reason } : {}) });
  }

  verify(streamId: string, state: string) {
    return this.call('POST', this.configuration.verification_endpoint, { stream_id: streamId, state });
  }
}
