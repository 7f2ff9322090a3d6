import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, Section, useLoad } from '../components/async.js';
import { when } from '../format.js';
import { navigate } from '../router.js';
import type { AuditView as Entry, ChainReport as Chain } from '../types.js';

const FIELDS = ['actor', 'kind', 'device', 'since'] as const;

export function AuditPage({ search }: { search: URLSearchParams }) {
  const filters = Object.fromEntries(FIELDS.map((f) => [f, search.get(f) ?? ''])) as Record<(typeof FIELDS)[number], string>;
  const since = filters.since ? Math.floor(new Date(filters.since).getTime() / 1000) : undefined;
  const key = query(filters);
  const entries = useLoad(() => api<{ entries: Entry[] }>('GET', `/v1/admin/audit${query({ actor: filters.actor, kind: filters.kind, device: filters.device, since, limit: 1000 })}`), key);
  const chain = useLoad(() => api<Chain>('GET', '/v1/admin/audit/verify'), 'chain');
  const [form, setForm] = useState(filters);
  const newest = [...(entries.data?.entries ?? [])].reverse();
  return (
    <>
      <div class="page-head">
        <h1>Audit log</h1>
      </div>
      <Section title="Hash chain">
        <ErrorNote error={chain.error} />
        {chain.data &&
          (chain.data.ok ? (
            <p class="ok" data-testid="chain-status">
              Intact: {chain.data.entries} entries verified{chain.data.head ? `, head #${chain.data.head.id}` : ''}.
            </p>
          ) : (
            <p class="error" role="alert" data-testid="chain-status">
              Broken at entry #{chain.data.entry_id} ({chain.data.problem}): {chain.data.message}
            </p>
          ))}
      </Section>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(`/audit${query(form)}`);
        }}
      >
        {(
          [
            ['actor', 'Actor', 'admin:alice'],
            ['kind', 'Kind', 'device.revoked'],
            ['device', 'Device id', ''],
          ] as const
        ).map(([name, label, placeholder]) => (
          <div class="field">
            <label for={`a-${name}`}>{label}</label>
            <input id={`a-${name}`} placeholder={placeholder} value={form[name]} onInput={(e) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value })} />
          </div>
        ))}
        <div class="field">
          <label for="a-since">Since</label>
          <input id="a-since" type="datetime-local" value={form.since} onInput={(e) => setForm({ ...form, since: (e.target as HTMLInputElement).value })} />
        </div>
        <button type="submit" class="primary">
          Filter
        </button>
      </form>
      <ErrorNote error={entries.error} />
      <div class="table-wrap">
        <table data-testid="audit-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Kind</th>
              <th scope="col">Device</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {newest.map((e) => (
              <tr>
                <td class="num">{e.id}</td>
                <td class="nowrap">{when(e.at)}</td>
                <td>{e.actor}</td>
                <td>{e.kind}</td>
                <td>{e.device_id ? <a href={`/devices/${e.device_id}`}>{e.device_id.slice(0, 8)}</a> : '—'}</td>
                <td>
                  <code class="small wrap">{JSON.stringify(e.detail)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {newest.length === 0 && entries.data && <p class="muted">No entry matches.</p>}
    </>
  );
}
