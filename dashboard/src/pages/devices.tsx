import { useEffect, useState } from 'preact/hooks';
import { adminToken, api, authHeaders, query } from '../api.js';
import { ErrorNote, errorText, useLoad } from '../components/async.js';
import { VerdictBadge } from '../components/verdict-badge.js';
import { VERDICTS, ago } from '../format.js';
import { liveFeed } from '../live.js';
import { navigate } from '../router.js';
import type { DevicePage } from '../types.js';

const FILTERS = ['q', 'verdict', 'status', 'platform', 'group', 'os_version', 'failing', 'not_reporting_s', 'sort', 'order'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;
type Options = ReadonlyArray<readonly [value: string, label: string]>;
const SORTS: Options = [
  ['hostname', 'Hostname'],
  ['last_seen', 'Last report'],
  ['score', 'Score'],
  ['verdict_since', 'Verdict since'],
  ['enrolled', 'Enrolled'],
];
const ORDERS: Options = [
  ['', 'default'],
  ['asc', 'ascending'],
  ['desc', 'descending'],
];
const STATUSES: Options = [
  ['', 'any'],
  ['active', 'active'],
  ['pending_approval', 'awaiting approval'],
  ['revoked', 'revoked'],
];
const PLATFORMS: Options = [
  ['', 'any'],
  ['linux', 'Linux'],
  ['darwin', 'macOS'],
  ['win32', 'Windows'],
];

function filtersOf(search: URLSearchParams): Filters {
  const out: Filters = {};
  for (const key of FILTERS) {
    const value = search.get(key);
    if (value) out[key] = value;
  }
  return out;
}

export function DevicesPage({ search }: { search: URLSearchParams }) {
  const filters = filtersOf(search);
  const key = query(filters);
  // Cursors of the pages before this one, so "Previous" goes back without offsets.
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  useEffect(() => setCursors([]), [key]);
  const page = useLoad(() => api<DevicePage>('GET', `/v1/admin/fleet/devices${query({ ...filters, cursor, limit: 50 })}`), `${key}|${cursor ?? ''}`);
  const [q, setQ] = useState(filters.q ?? '');
  const [exporting, setExporting] = useState<string | null>(null);
  useEffect(() => setQ(filters.q ?? ''), [filters.q]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    return liveFeed.subscribe(() => {
      timer ??= setTimeout(() => {
        timer = null;
        page.reload();
      }, 1000);
    });
  }, [page.reload]);

  const set = (changes: Filters) => {
    const next = { ...filters, ...changes };
    for (const k of Object.keys(next) as Array<keyof Filters>) if (!next[k]) delete next[k];
    navigate(`/devices${query(next)}`);
  };
  const csvUrl = `/v1/admin/fleet/devices.csv${key}`;
  const exportCsv = async (event: Event) => {
    // A pasted token cannot ride on a plain link: fetch the file and hand it over as a blob.
    if (!adminToken()) return;
    event.preventDefault();
    setExporting('Exporting…');
    try {
      const response = await fetch(csvUrl, { headers: authHeaders() });
      if (!response.ok) throw new Error(`the export answered ${response.status}`);
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = 'postern-devices.csv';
      a.click();
      URL.revokeObjectURL(url);
      setExporting(null);
    } catch (e) {
      setExporting(errorText(e));
    }
  };

  const p = page.data;
  // Counted on the first page only; later pages keep it.
  const [total, setTotal] = useState<number | null>(null);
  useEffect(() => {
    if (p && p.total !== null) setTotal(p.total);
  }, [p]);
  return (
    <>
      <div class="page-head">
        <h1>Devices</h1>
        <a class="button" href={csvUrl} download onClick={exportCsv}>
          Export CSV
        </a>
      </div>
      {exporting && <p class="muted">{exporting}</p>}
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          set({ q });
        }}
      >
        <div class="field grow">
          <label for="q">Search</label>
          <input id="q" type="search" placeholder="hostname, owner, change or device id prefix" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </div>
        <SelectFilter id="f-verdict" label="Verdict" value={filters.verdict ?? ''} options={[['', 'any'], ...VERDICTS.map((v): [string, string] => [v, v])]} onSet={(verdict) => set({ verdict })} />
        <SelectFilter id="f-status" label="Status" value={filters.status ?? ''} options={STATUSES} onSet={(status) => set({ status })} />
        <SelectFilter id="f-platform" label="Platform" value={filters.platform ?? ''} options={PLATFORMS} onSet={(platform) => set({ platform })} />
        <TextFilter id="f-group" label="Group" value={filters.group} onSet={(group) => set({ group })} />
        <TextFilter id="f-os" label="OS version" value={filters.os_version} onSet={(os_version) => set({ os_version })} />
        <TextFilter id="f-failing" label="Failing check" value={filters.failing} onSet={(failing) => set({ failing })} />
        <SelectFilter id="f-sort" label="Sort by" value={filters.sort ?? 'hostname'} options={SORTS} onSet={(sort) => set({ sort, order: '' })} />
        <SelectFilter id="f-order" label="Order" value={filters.order ?? ''} options={ORDERS} onSet={(order) => set({ order })} />
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      <ErrorNote error={page.error} />
      {p && (
        <>
          <p class="muted" aria-live="polite" data-testid="device-total">
            {total ?? '…'} {total === 1 ? 'device' : 'devices'}
            {filters.not_reporting_s ? ` silent for more than ${Math.round(Number(filters.not_reporting_s) / 3600)} h` : ''}
          </p>
          <div class="table-wrap">
            <table class="devices">
              <thead>
                <tr>
                  <th scope="col">Hostname</th>
                  <th scope="col">Verdict</th>
                  <th scope="col" class="num">Score</th>
                  <th scope="col">Failing</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Change ref.</th>
                  <th scope="col">Group</th>
                  <th scope="col">OS</th>
                  <th scope="col">Last report</th>
                </tr>
              </thead>
              <tbody>
                {p.devices.map((d) => (
                  <tr data-device={d.device_id}>
                    <td>
                      <a href={`/devices/${d.device_id}`}>{d.hostname}</a>
                      {d.status !== 'active' && <span class="muted small"> ({d.status.replace('_', ' ')})</span>}
                    </td>
                    <td>
                      <VerdictBadge verdict={d.verdict} />
                    </td>
                    <td class="num">{d.score}</td>
                    <td>{d.failing.length ? d.failing.join(', ') : <span class="muted">none</span>}</td>
                    <td>{d.owner ?? <span class="muted">—</span>}</td>
                    <td>{d.change_ref ?? <span class="muted">—</span>}</td>
                    <td>{d.group}</td>
                    <td>
                      {d.platform} {d.os_version ?? ''}
                    </td>
                    <td title={d.last_seen_at ? new Date(d.last_seen_at * 1000).toISOString() : undefined}>{ago(d.last_seen_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {p.devices.length === 0 && <p class="muted">No device matches.</p>}
          <nav class="pager" aria-label="Pages">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous
            </button>
            <span class="muted">page {cursors.length + 1}</span>
            <button type="button" disabled={!p.next} onClick={() => p.next && setCursors((c) => [...c, p.next as string])}>
              Next
            </button>
          </nav>
        </>
      )}
    </>
  );
}

function TextFilter({ id, label, value, onSet }: { id: string; label: string; value: string | undefined; onSet(value: string): void }) {
  const [text, setText] = useState(value ?? '');
  useEffect(() => setText(value ?? ''), [value]);
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} onBlur={() => text !== (value ?? '') && onSet(text.trim())} />
    </div>
  );
}

function SelectFilter({ id, label, value, options, onSet }: { id: string; label: string; value: string; options: Options; onSet(value: string): void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onSet((e.target as HTMLSelectElement).value)}>
        {options.map(([v, text]) => (
          <option value={v}>{text}</option>
        ))}
      </select>
    </div>
  );
}
