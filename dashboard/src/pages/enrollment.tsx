import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, errorText } from '../components/async.js';
import { when } from '../format.js';
import type { EnrollmentTokenCreated as Created, Session } from '../types.js';

export function EnrollmentPage({ session }: { session: Session }) {
  const [form, setForm] = useState({ group: 'employees', uses: 1, hours: 24, owner: '', approval: false, ttlDays: '' });
  const [created, setCreated] = useState<Created[]>([]);
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
        approval: form.approval,
        device_ttl_s: form.ttlDays ? Math.round(Number(form.ttlDays) * 86400) : null,
      };
      const token = await api<Created>('POST', '/v1/admin/enrollment-tokens', body);
      setCreated((list) => [token, ...list]);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const input = (name: keyof typeof form) => (e: Event) => {
    const el = e.target as HTMLInputElement;
    setForm({ ...form, [name]: el.type === 'checkbox' ? el.checked : el.type === 'number' ? Number(el.value) : el.value });
  };
  return (
    <>
      <div class="page-head">
        <h1>Enrollment</h1>
      </div>
      {session.role !== 'admin' ? (
        <p class="muted">Creating enrollment tokens needs the admin role; you are signed in as {session.role}.</p>
      ) : (
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
      )}
      {created.length > 0 && (
        <Section title="Created in this session">
          <p class="muted">Each token is shown once: copy it now. Only its hash is stored.</p>
          <ul class="plain">
            {created.map((t) => (
              <li>
                <code class="wrap" data-testid="new-token">
                  {t.token}
                </code>
                <div class="muted small">
                  group {t.group}, {t.uses} use(s), valid until {when(t.expires_at)}
                  {t.owner ? `, owner ${t.owner}` : ''}
                  {t.approval ? ', needs approval' : ''}
                </div>
                <div class="small">
                  On the device: <code>postern-agent enroll --server {location.origin} --token {t.token}</code>
                </div>
              </li>
            ))}
          </ul>
        </Section>
      )}
      <p class="muted small">Listing and revoking tokens come with the enrollment-token admin API.</p>
    </>
  );
}
