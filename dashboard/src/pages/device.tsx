import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, useLoad } from '../components/async.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { VerdictBadge } from '../components/verdict-badge.js';
import { ago, when } from '../format.js';
import { liveFeed } from '../live.js';
import type { DeviceDetail, Session } from '../types.js';

type Action = 'approve' | 'deny' | 'revoke' | 'group' | 'exception' | 'extend';

export function DevicePage({ id, session }: { id: string; session: Session }) {
  const detail = useLoad(() => api<DeviceDetail>('GET', `/v1/admin/fleet/devices/${encodeURIComponent(id)}`), id);
  const [action, setAction] = useState<Action | null>(null);
  useEffect(
    () =>
      liveFeed.subscribe((event) => {
        if (event.device_id === id) detail.reload();
      }),
    [id, detail.reload],
  );
  const d = detail.data;
  const canChange = session.role !== 'viewer';
  return (
    <>
      <ErrorNote error={detail.error} />
      {d && (
        <>
          <div class="page-head">
            <h1>
              {d.device.hostname} <VerdictBadge verdict={d.device.verdict} />
            </h1>
            {canChange && (
              <div class="actions" role="group" aria-label="Device actions">
                {d.device.status === 'pending_approval' && (
                  <>
                    <button type="button" class="primary" onClick={() => setAction('approve')}>
                      Approve
                    </button>
                    <button type="button" onClick={() => setAction('deny')}>
                      Deny
                    </button>
                  </>
                )}
                {d.device.status !== 'revoked' && (
                  <>
                    <button type="button" onClick={() => setAction('group')}>
                      Move group
                    </button>
                    <button type="button" onClick={() => setAction('exception')}>
                      Grant exception
                    </button>
                    {!ended(d.device.expires_at) && (
                      <button type="button" onClick={() => setAction('extend')}>
                        Extend
                      </button>
                    )}
                    <button type="button" class="danger" onClick={() => setAction('revoke')}>
                      Revoke
                    </button>
                  </>
                )}
              </div>
            )}
          </div>
          <p class="muted" data-testid="device-summary">
            Score {d.device.score}, judged by {d.policy} {ago(d.evaluated_at)}; {d.device.verdict} since {when(d.device.verdict_since)}
            {d.next_change_at ? `; changes by itself ${when(d.next_change_at)} unless it reports` : ''}.
          </p>
          <div class="grid-2">
            <Section title="Identity">
              <dl class="facts">
                <dt>Device id</dt>
                <dd>
                  <code>{d.device.device_id}</code>
                </dd>
                <dt>Status</dt>
                <dd data-testid="device-status">{d.device.status.replace('_', ' ')}</dd>
                <dt>Owner</dt>
                <dd>{d.device.owner ?? '—'}</dd>
                <dt>Change reference</dt>
                <dd>{d.device.change_ref ?? '—'}</dd>
                <dt>Group</dt>
                <dd>{d.device.group}</dd>
                <dt>Platform</dt>
                <dd>
                  {d.device.platform} {d.device.os_version ?? ''}
                </dd>
                <dt>Agent</dt>
                <dd>{d.device.agent_version}</dd>
                <dt>Serial</dt>
                <dd>{d.device.serial ?? '—'}</dd>
                <dt>Key id</dt>
                <dd>
                  <code class="wrap">{d.device.kid}</code>
                </dd>
                <dt>Enrolled</dt>
                <dd>{when(d.device.enrolled_at)}</dd>
                <dt>Last report</dt>
                <dd>{ago(d.device.last_seen_at)}</dd>
                <dt>Enrollment ends</dt>
                <dd data-testid="device-ends">{d.device.expires_at ? when(d.device.expires_at) : 'never'}</dd>
                {d.device.revoked_at && (
                  <>
                    <dt>Revoked</dt>
                    <dd>{when(d.device.revoked_at)}</dd>
                  </>
                )}
              </dl>
            </Section>
            <Section title="Checks">
              <ul class="checks">
                {d.checks.map((c) => (
                  <li class={`check check-${c.status}`}>
                    <div class="check-head">
                      <span class={`badge status-${c.status}`}>{c.status}</span> <strong>{c.id}</strong> <span class="muted small">{c.severity}</span>
                      {c.exception && <span class="badge exception">exception until {when(c.exception.until)}</span>}
                    </div>
                    <div>{c.message}</div>
                    {c.status !== 'pass' && c.remediation && (
                      <div class="remediation">
                        <strong>What to do:</strong> {c.remediation}
                      </div>
                    )}
                    {c.failing_since && <div class="muted small">failing since {when(c.failing_since)}</div>}
                  </li>
                ))}
                {d.checks.length === 0 && <li class="muted">No check results yet: the device has not reported.</li>}
              </ul>
            </Section>
          </div>
          <Section title="Timeline">
            <ol class="timeline">
              {d.timeline.map((t) => (
                <li>
                  <time dateTime={new Date(t.at * 1000).toISOString()}>{when(t.at)}</time>{' '}
                  {t.kind === 'report' ? (
                    <span>
                      report #{t.seq}: <VerdictBadge verdict={t.verdict} /> score {t.score}
                    </span>
                  ) : (
                    <span>
                      <strong>{t.event.type}</strong> by {t.event.actor} <EventData type={t.event.type} data={t.event.data} />
                    </span>
                  )}
                </li>
              ))}
            </ol>
          </Section>
          <Section title="Latest attestation">
            {d.latest_attestation ? (
              <details>
                <summary>
                  Report #{d.latest_attestation.seq}, signed {when(d.latest_attestation.attested_at)}, received {when(d.latest_attestation.received_at)}
                </summary>
                <pre class="raw" tabIndex={0}>
                  {JSON.stringify(d.latest_attestation.posture, null, 2)}
                </pre>
              </details>
            ) : (
              <p class="muted">Nothing reported yet.</p>
            )}
          </Section>
          {action && <ActionDialog action={action} detail={d} onClose={() => setAction(null)} onDone={detail.reload} />}
        </>
      )}
    </>
  );
}

/** An enrollment whose end has passed stays ended: the server refuses to extend it. */
const ended = (expiresAt: number | null) => expiresAt !== null && expiresAt * 1000 <= Date.now();

/** `yyyy-mm-dd` of a moment, in the browser's time zone, as a date input reads it. */
function dateInputValue(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The end of the chosen day in the browser's time zone, as seconds; null when the input holds no date. */
function endOfDay(value: string): number | null {
  const at = new Date(`${value}T23:59:59`).getTime();
  return Number.isNaN(at) ? null : Math.floor(at / 1000);
}

const DAY_MS = 86_400_000;

/** Members of an event's data that are moments (seconds since the epoch), shown as dates. */
const timeKeys = (type: string) => (type === 'device.extended' ? ['from', 'to', 'until'] : ['until']);

function EventData({ type, data }: { type: string; data: Record<string, unknown> }) {
  const times = timeKeys(type);
  const parts = Object.entries(data)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'number' && times.includes(k) ? when(v) : String(v)}`);
  return <span class="muted small">{parts.join('; ')}</span>;
}

function ActionDialog({ action, detail, onClose, onDone }: { action: Action; detail: DeviceDetail; onClose(): void; onDone(): void }) {
  const id = detail.device.device_id;
  const name = detail.device.hostname;
  const [group, setGroup] = useState(detail.device.group);
  const [create, setCreate] = useState(false);
  const failing = detail.checks.filter((c) => c.status !== 'pass').map((c) => c.id);
  const [check, setCheck] = useState(failing[0] ?? detail.checks[0]?.id ?? '');
  const [hours, setHours] = useState(24);
  // Extend: 30 days past the current end (or from today for a device without one).
  const [until, setUntil] = useState(dateInputValue(Math.max(Date.now(), (detail.device.expires_at ?? 0) * 1000) + 30 * DAY_MS));
  const post = async (path: string, body: Record<string, unknown>) => {
    await api('POST', `/v1/admin/devices/${id}/${path}`, body);
    onDone();
  };
  const common = { onClose };
  switch (action) {
    case 'approve':
      return <ConfirmDialog {...common} title={`Approve ${name}?`} description="It is judged by its group's policy from its next report, and gateways may let it pass." confirmLabel="Approve" onConfirm={(reason) => post('approve', { reason })} />;
    case 'deny':
      return <ConfirmDialog {...common} danger title={`Deny ${name}?`} description="The device may not enroll with this key again; its streams close." confirmLabel="Deny" onConfirm={(reason) => post('deny', { reason })} />;
    case 'revoke':
      return (
        <ConfirmDialog {...common} danger title={`Revoke ${name}?`} description="Gateways deny it at once and its streams close on every replica. This cannot be undone: the device must enroll again." confirmLabel="Revoke" onConfirm={(reason) => post('revoke', { reason })} />
      );
    case 'group':
      return (
        <ConfirmDialog {...common} title={`Move ${name} to another group`} description="It is judged by the new group's policy at once." confirmLabel="Move" onConfirm={(reason) => post('group', { group, create, reason })}>
          <label for="new-group">Group</label>
          <input id="new-group" value={group} required onInput={(e) => setGroup((e.target as HTMLInputElement).value)} />
          <label class="inline">
            <input type="checkbox" checked={create} onChange={(e) => setCreate((e.target as HTMLInputElement).checked)} /> create the group if nothing names it yet
          </label>
        </ConfirmDialog>
      );
    case 'extend':
      return (
        <ConfirmDialog
          {...common}
          title={`Extend ${name}'s access`}
          description={
            <>
              Its enrollment {detail.device.expires_at ? `ends ${when(detail.device.expires_at)}` : 'has no end'}; from now on it ends at the end of the day chosen below. Gateways deny it after that, and the group's longest lifetime still applies.
            </>
          }
          confirmLabel="Extend"
          onConfirm={async (reason) => {
            const at = endOfDay(until);
            if (at === null) throw new Error('Choose the new end date.');
            await post('extend', { until: at, reason });
          }}
        >
          <label for="x-until">New end date</label>
          <input id="x-until" type="date" required min={dateInputValue(Date.now())} value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
        </ConfirmDialog>
      );
    case 'exception':
      return (
        <ConfirmDialog
          {...common}
          title={`Grant ${name} an exception`}
          description="The check is still reported, but does not decide the verdict until the exception ends."
          confirmLabel="Grant exception"
          onConfirm={(reason) => post('exceptions', { check, until: Math.floor(Date.now() / 1000) + hours * 3600, reason })}
        >
          <label for="x-check">Check</label>
          <select id="x-check" value={check} onChange={(e) => setCheck((e.target as HTMLSelectElement).value)}>
            {detail.checks.map((c) => (
              <option value={c.id}>
                {c.id} ({c.status})
              </option>
            ))}
          </select>
          <label for="x-hours">For how many hours</label>
          <input id="x-hours" type="number" min={1} max={8784} value={hours} onInput={(e) => setHours(Number((e.target as HTMLInputElement).value))} />
        </ConfirmDialog>
      );
  }
}
