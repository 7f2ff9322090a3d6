import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, errorText, useLoad } from '../components/async.js';
import { RevokeButton, RevokeDialog } from '../components/confirm-dialog.js';
import { CopyButton } from '../components/copy-button.js';
import { shortId, when } from '../format.js';
import type { EnrollmentTokenCreated as Created, InstallLinesAnswer, Session, TokenView } from '../types.js';

const PLATFORMS = [
  ['linux', 'Linux'],
  ['macos', 'macOS'],
  ['windows', 'Windows (PowerShell)'],
] as const;

export function EnrollmentPage({ session }: { session: Session }) {
  const isAdmin = session.role === 'admin';
  const [showAll, setShowAll] = useState(false);
  const tokens = useLoad(() => api<{ tokens: TokenView[] }>('GET', `/v1/admin/enrollment-tokens${showAll ? '?all=1' : ''}`), String(showAll));
  const install = useLoad(() => api<InstallLinesAnswer>('GET', '/v1/admin/install-lines'), 'install');
  const [created, setCreated] = useState<Created[]>([]);
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  return (
    <>
      <div class="page-head">
        <h1>Enrollment</h1>
      </div>
      {isAdmin ? (
        <NewTokenForm onCreated={(token) => (setCreated((list) => [token, ...list]), tokens.reload())} />
      ) : (
        <p class="muted">Creating and revoking enrollment tokens needs the admin role; you are signed in as {session.role}.</p>
      )}
      {created.length > 0 && (
        <Section title="Created in this session">
          <p class="muted">Each token is shown once: copy it now. Only its hash is stored. Send the token on its own; the installer asks for it (hidden input), so it stays out of shell history.</p>
          <ul class="plain">
            {created.map((t) => (
              <li>
                <div class="copy-line">
                  <code class="wrap" data-testid="new-token">
                    {t.token}
                  </code>
                  <CopyButton text={t.token} label={`Copy token ${shortId(t.id)} for group ${t.group}`} />
                </div>
                <div class="muted small">
                  group {t.group}, {t.uses} use(s), valid until {when(t.expires_at)}
                  {t.owner ? `, owner ${t.owner}` : ''}
                  {t.change_ref ? `, change ${t.change_ref}` : ''}
                  {t.approval ? ', needs approval' : ''}
                </div>
              </li>
            ))}
          </ul>
          <h3 class="sub">Install and enroll, as an administrator of the device</h3>
          <ErrorNote error={install.error} />
          {install.data && (
            <dl class="install-lines" data-testid="install-lines">
              {PLATFORMS.map(([key, label]) => (
                <Fragment key={key}>
                  <dt>{label}</dt>
                  <dd class="copy-line">
                    <code class="wrap" data-testid={`install-${key}`}>
                      {install.data?.lines[key]}
                    </code>
                    <CopyButton text={install.data?.lines[key] ?? ''} label={`Copy the ${label} install line`} />
                  </dd>
                </Fragment>
              ))}
            </dl>
          )}
        </Section>
      )}
      <Section
        title="Enrollment tokens"
        actions={
          <label class="inline">
            <input type="checkbox" checked={showAll} onChange={(e) => setShowAll((e.target as HTMLInputElement).checked)} /> also revoked, expired and used-up tokens
          </label>
        }
      >
        <ErrorNote error={tokens.error} />
        {tokens.data && tokens.data.tokens.length === 0 && <p class="muted">{showAll ? 'No enrollment token was ever created.' : 'No token can enroll a device now.'}</p>}
        {tokens.data && tokens.data.tokens.length > 0 && (
          <div class="table-wrap">
            <table data-testid="token-table">
              <caption class="sr-only">Enrollment tokens, newest first; their secrets are never shown again</caption>
              <thead>
                <tr>
                  <th scope="col">Token</th>
                  <th scope="col">Group</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Change ref.</th>
                  <th scope="col" class="num">Uses</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Created by</th>
                  <th scope="col">State</th>
                  {isAdmin && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {tokens.data.tokens.map((t) => (
                  <tr data-token-id={t.id}>
                    <td>
                      <code title={t.id}>{shortId(t.id)}</code>
                    </td>
                    <td>{t.group}</td>
                    <td>{t.owner ?? <span class="muted">—</span>}</td>
                    <td>{t.change_ref ?? <span class="muted">—</span>}</td>
                    <td class="num">
                      {t.uses}/{t.max_uses}
                    </td>
                    <td>{when(t.expires_at)}</td>
                    <td>{t.created_by}</td>
                    <td>
                      <span class={`badge token-${t.state}`}>{t.state.replace('_', ' ')}</span>
                      {t.revoked_by && <div class="muted small">by {t.revoked_by}</div>}
                    </td>
                    {isAdmin && <td>{t.state === 'usable' && <RevokeButton label={`Revoke token ${shortId(t.id)} of group ${t.group}`} onClick={() => setRevoking(t)} />}</td>}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {revoking && (
        <RevokeDialog
          title={`Revoke token ${shortId(revoking.id)}?`}
          description={`It enrolls no more devices (group ${revoking.group}, ${revoking.uses_left} use(s) left). Devices it already enrolled stay enrolled. The audit log keeps who revoked it.`}
          confirmLabel="Revoke token"
          path={`/v1/admin/enrollment-tokens/${encodeURIComponent(revoking.id)}/revoke`}
          onRevoked={tokens.reload}
          onClose={() => setRevoking(null)}
        />
      )}
    </>
  );
}

function NewTokenForm({ onCreated }: { onCreated(token: Created): void }) {
  const [form, setForm] = useState({ group: 'employees', uses: 1, hours: 24, owner: '', changeRef: '', approval: false, ttlDays: '' });
  const [error, setError] = useState<string | null>(null);
  const create = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = {
        group: form.group.trim(),
        uses: form.uses,
        expires_in_s: Math.round(form.hours * 3600),
        owner: form.owner.trim() || null,
        change_ref: form.changeRef.trim() || null,
        approval: form.approval,
        device_ttl_s: form.ttlDays ? Math.round(Number(form.ttlDays) * 86400) : null,
      };
      onCreated(await api<Created>('POST', '/v1/admin/enrollment-tokens', body));
    } catch (e) {
      setError(errorText(e));
    }
  };
  const input = (name: keyof typeof form) => (e: Event) => {
    const el = e.target as HTMLInputElement;
    setForm({ ...form, [name]: el.type === 'checkbox' ? el.checked : el.type === 'number' ? Number(el.value) : el.value });
  };
  return (
    <Section title="New enrollment token">
      <form class="filters" onSubmit={create}>
        <div class="field">
          <label for="t-group">Group</label>
          <input id="t-group" required value={form.group} onInput={input('group')} />
        </div>
        <div class="field">
          <label for="t-uses">Devices it may enroll</label>
          <input id="t-uses" type="number" min={1} max={100000} value={form.uses} onInput={input('uses')} />
        </div>
        <div class="field">
          <label for="t-hours">Valid for (hours)</label>
          <input id="t-hours" type="number" min={1} max={8760} value={form.hours} onInput={input('hours')} />
        </div>
        <div class="field">
          <label for="t-owner">Owner</label>
          <input id="t-owner" value={form.owner} onInput={input('owner')} />
        </div>
        <div class="field">
          <label for="t-change">Change reference</label>
          <input id="t-change" placeholder="CHG-123" maxLength={100} value={form.changeRef} onInput={input('changeRef')} />
        </div>
        <div class="field">
          <label for="t-ttl">Enrollment lasts (days, empty: no end)</label>
          <input id="t-ttl" type="number" min={1} value={form.ttlDays} onInput={input('ttlDays')} />
        </div>
        <label class="inline">
          <input type="checkbox" checked={form.approval} onChange={input('approval')} /> devices wait for approval
        </label>
        <button type="submit" class="primary">
          Create token
        </button>
      </form>
      <ErrorNote error={error} />
    </Section>
  );
}
