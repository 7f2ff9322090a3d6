import { useState } from 'preact/hooks';
import { api, setAdminToken } from '../api.js';
import { errorText } from '../components/async.js';

/** Not signed in: how to get a sign-in link, or (for a single operator) the admin token. */
export function SignInPage({ onSignedIn }: { onSignedIn(): void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    setAdminToken(token.trim());
    try {
      await api('GET', '/v1/admin/fleet/overview?range=24h');
      onSignedIn();
    } catch (e) {
      setAdminToken(null);
      setError(errorText(e));
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Postern</h1>
      <p>
        Ask an administrator for a sign-in link, or make one on the server: <code>postern-server admin sign-in-link --name you</code>. Open it in this browser.
      </p>
      <form onSubmit={submit}>
        <label for="admin-token">Or paste the admin token (the file admin-token in the server's data directory); it is kept for this tab only</label>
        <input id="admin-token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" disabled={!token.trim()}>
          Sign in
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
