import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, errorText } from '../components/async.js';
import type { GatewayKeyCreated, Session } from '../types.js';

export function GatewaysPage({ session }: { session: Session }) {
  const [name, setName] = useState('');
  const [keys, setKeys] = useState<GatewayKeyCreated[]>([]);
  const [error, setError] = useState<string | null>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const created = await api<GatewayKeyCreated>('POST', '/v1/admin/gateway-keys', { name: name.trim() });
      setKeys((list) => [created, ...list]);
      setName('');
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
      <p class="muted small">Listing and revoking keys, and shared-signals (SSF) streams, come with their admin APIs.</p>
    </>
  );
}
