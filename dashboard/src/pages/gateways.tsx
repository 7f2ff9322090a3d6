import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, errorText, useLoad } from '../components/async.js';
import { ago, shortId, when } from '../format.js';
import { RevokeButton, RevokeDialog } from '../components/confirm-dialog.js';
import type { AdminSsfStream, GatewayKeyCreated, GatewayKeyView, Session } from '../types.js';

const METHOD_NAME: Record<string, string> = { 'urn:ietf:rfc:8935': 'push', 'urn:ietf:rfc:8936': 'poll' };
/** The event type's last path segment: session-revoked, device-compliance-change. */
const eventName = (uri: string) => uri.slice(uri.lastIndexOf('/') + 1);

export function GatewaysPage({ session }: { session: Session }) {
  const [name, setName] = useState('');
  const [keys, setKeys] = useState<GatewayKeyCreated[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [listTick, setListTick] = useState(0);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api<GatewayKeyCreated>('POST', '/v1/admin/gateway-keys', { name: name.trim() });
      setKeys((list) => [created, ...list]);
      setName('');
      setListTick((n) => n + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <>
      <div class="page-head">
        <h1>Gateways</h1>
      </div>
      <Section title="How gateways ask">
        <p>
          A gateway either asks <code>GET /v1/devices/&lt;id&gt;/compliance</code> with a gateway key, or forwards each request to <code>GET /v1/authz</code>, where the device proves itself with its DPoP-bound result token (see
          docs/protocol.md). Results are signed by the keys at <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.
        </p>
      </Section>
      {session.role === 'admin' ? (
        <Section title="New gateway key">
          <form class="filters" onSubmit={create}>
            <div class="field grow">
              <label for="g-name">Name</label>
              <input id="g-name" required maxLength={100} placeholder="edge-proxy-eu" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
            </div>
            <button type="submit" class="primary">
              Create key
            </button>
          </form>
          <ErrorNote error={error} />
          {keys.length > 0 && (
            <ul class="plain">
              {keys.map((k) => (
                <li>
                  <strong>{k.name}</strong>: <code class="wrap">{k.key}</code> <span class="muted small">(shown once; only its hash is stored)</span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      ) : (
        <p class="muted">Creating gateway keys needs the admin role; you are signed in as {session.role}.</p>
      )}
      <KeysSection session={session} tick={listTick} />
      <StreamsSection />
    </>
  );
}

function KeysSection({ session, tick }: { session: Session; tick: number }) {
  const [all, setAll] = useState(false);
  const [revoking, setRevoking] = useState<GatewayKeyView | null>(null);
  const keys = useLoad(() => api<{ keys: GatewayKeyView[] }>('GET', `/v1/admin/gateway-keys${all ? '?all=1' : ''}`), `gateway-keys|${all}|${tick}`);
  const list = keys.data?.keys ?? [];
  return (
    <Section
      title="Gateway keys"
      actions={
        <label class="inline">
          <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> Show revoked keys
        </label>
      }
    >
      <ErrorNote error={keys.error} />
      {keys.data && list.length === 0 && <p class="muted">No gateway key {all ? 'yet' : 'in use'}.</p>}
      {list.length > 0 && (
        <div class="table-wrap">
          <table data-testid="gateway-keys">
            <caption class="sr-only">Gateway API keys</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">State</th>
                {session.role === 'admin' && <th scope="col"><span class="sr-only">Actions</span></th>}
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr data-key-id={k.id}>
                  <td>
                    <code title={k.id}>{shortId(k.id)}</code>
                  </td>
                  <td>{k.name}</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{when(k.created_at)}</td>
                  <td>{k.revoked_at === null ? 'in use' : `revoked ${when(k.revoked_at)}`}</td>
                  {session.role === 'admin' && <td>{k.revoked_at === null && <RevokeButton label={`Revoke gateway key ${k.name} (${shortId(k.id)})`} onClick={() => setRevoking(k)} />}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {revoking && (
        <RevokeDialog
          title={`Revoke gateway key ${revoking.name}?`}
          description="Every replica refuses it as soon as it hears of the revocation: the gateways and receivers using it get 401 until they are given a new key. The audit log keeps who revoked it."
          confirmLabel="Revoke key"
          path={`/v1/admin/gateway-keys/${encodeURIComponent(revoking.id)}/revoke`}
          onRevoked={keys.reload}
          onClose={() => setRevoking(null)}
        />
      )}
    </Section>
  );
}

/** Health of one stream in words: what a person should look at first. */
function health(s: AdminSsfStream): { label: string; tone: 'ok' | 'warn' | 'bad' } {
  if (s.receiver_revoked) return { label: 'receiver key revoked', tone: 'bad' };
  if (s.failing_since !== null) return { label: `failing since ${when(s.failing_since)}`, tone: 'bad' };
  if (s.status !== 'enabled') return { label: s.status, tone: 'warn' };
  if (s.last_error) return { label: 'retrying', tone: 'warn' };
  return { label: 'delivering', tone: 'ok' };
}

function StreamsSection() {
  const streams = useLoad(() => api<{ streams: AdminSsfStream[] }>('GET', '/v1/admin/ssf/streams'), 'streams');
  const list = streams.data?.streams ?? [];
  return (
    <Section
      title="Shared Signals (SSF) streams"
      actions={
        <button type="button" onClick={streams.reload}>
          Refresh
        </button>
      }
    >
      <p class="muted small">
        Receivers create and change their own streams at <code>/ssf/streams</code> with a gateway key of scope <code>ssf</code>; this is every receiver's, read-only.
      </p>
      <ErrorNote error={streams.error} />
      {streams.data && list.length === 0 && <p class="muted">No receiver has created a stream yet.</p>}
      {list.length > 0 && (
        <div class="table-wrap">
          <table data-testid="ssf-streams">
            <caption class="sr-only">SSF streams with their delivery health</caption>
            <thead>
              <tr>
                <th scope="col">Stream</th>
                <th scope="col">Receiver</th>
                <th scope="col">Delivery</th>
                <th scope="col">Events</th>
                <th scope="col">Health</th>
                <th scope="col" class="num">Waiting</th>
                <th scope="col">Last error</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
                const h = health(s);
                return (
                  <tr data-stream-id={s.stream_id}>
                    <td>
                      <code title={s.stream_id}>{shortId(s.stream_id)}</code>
                      {s.description && <div class="muted small">{s.description}</div>}
                    </td>
                    <td>{s.receiver}</td>
                    <td>
                      {METHOD_NAME[s.delivery_method] ?? s.delivery_method}
                      {s.endpoint_host && <div class="muted small">{s.endpoint_host}</div>}
                    </td>
                    <td class="small">{s.events_requested.map(eventName).join(', ') || <span class="muted">none</span>}</td>
                    <td>
                      <span class={`badge health-${h.tone}`}>{h.label}</span>
                      {s.status_reason && <div class="muted small">{s.status_reason}</div>}
                    </td>
                    <td class="num">
                      {s.waiting}
                      {s.oldest_waiting_at !== null && <div class="muted small">oldest {ago(s.oldest_waiting_at)}</div>}
                    </td>
                    <td class="small wrap-words">{s.last_error ?? <span class="muted">—</span>}</td>
                    <td>{when(s.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
