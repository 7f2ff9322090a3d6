import { diffLines } from 'diff';
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ErrorNote, Section, errorText, useLoad } from '../components/async.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { VerdictBadge } from '../components/verdict-badge.js';
import { when } from '../format.js';
import type { DiffReport as DryRun, PolicyVersionSource as VersionSource, Session, VersionSummary } from '../types.js';

type Version = VersionSummary;

export function PoliciesPage({ session }: { session: Session }) {
  const versions = useLoad(() => api<{ versions: Version[] }>('GET', '/v1/admin/policies'), 'all');
  const [shown, setShown] = useState<Version | null>(null);
  const groups = [...new Set((versions.data?.versions ?? []).map((v) => v.group))];
  return (
    <>
      <div class="page-head">
        <h1>Policies</h1>
      </div>
      <ErrorNote error={versions.error} />
      <Section title="Active per group">
        <ul class="plain" data-testid="active-policies">
          {(versions.data?.versions ?? [])
            .filter((v) => v.active)
            .map((v) => (
              <li>
                <strong>{v.group}</strong>: {v.policy} by {v.author}, {when(v.created_at)} — {v.message}
              </li>
            ))}
        </ul>
        <p class="muted small">A group without a policy of its own is judged by the default policy.</p>
      </Section>
      <Section title="Versions">
        <table>
          <thead>
            <tr>
              <th scope="col">Policy</th>
              <th scope="col">Author</th>
              <th scope="col">When</th>
              <th scope="col">Message</th>
              <th scope="col">
                <span class="sr-only">Diff</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(versions.data?.versions ?? []).map((v) => (
              <tr>
                <td>
                  {v.policy} {v.active && <span class="badge status-pass">active</span>}
                </td>
                <td>{v.author}</td>
                <td>{when(v.created_at)}</td>
                <td>{v.message}</td>
                <td>
                  <button type="button" onClick={() => setShown(v)} aria-label={`Show ${v.policy} and its changes`}>
                    Show
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {shown && <VersionDiff version={shown} />}
      <Draft groups={groups} session={session} onApplied={versions.reload} />
    </>
  );
}

function VersionDiff({ version }: { version: Version }) {
  const loaded = useLoad(async () => {
    const get = (n: number) => api<VersionSource>('GET', `/v1/admin/policies/${encodeURIComponent(version.group)}?version=${n}`);
    const current = await get(version.version);
    const previous = version.version > 1 ? await get(version.version - 1) : null;
    return { current, previous };
  }, version.policy);
  const data = loaded.data;
  return (
    <Section title={data?.previous ? `${version.policy}, changes from version ${version.version - 1}` : `${version.policy}, the first version`}>
      <ErrorNote error={loaded.error} />
      {data && (
        <pre class="diff" tabIndex={0} data-testid="policy-diff">
          {(data.previous ? diffLines(data.previous.source, data.current.source) : [{ value: data.current.source, added: false, removed: false }]).map((part) => (
            <span class={part.added ? 'added' : part.removed ? 'removed' : 'same'}>
              {part.value
                .replace(/\n$/, '')
                .split('\n')
                .map((line) => `${part.added ? '+ ' : part.removed ? '- ' : '  '}${line}\n`)
                .join('')}
            </span>
          ))}
        </pre>
      )}
    </Section>
  );
}

function Draft({ groups, session, onApplied }: { groups: string[]; session: Session; onApplied(): void }) {
  const [source, setSource] = useState('');
  const [group, setGroup] = useState('');
  const [dryRun, setDryRun] = useState<DryRun | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [applied, setApplied] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const body = () => ({ source, filename: 'draft.yaml', ...(group ? { group } : {}) });
  const runDry = async () => {
    setError(null);
    setApplied(null);
    try {
      setDryRun(await api<DryRun>('POST', '/v1/admin/policies/diff', { ...body(), limit: 200 }));
    } catch (e) {
      setDryRun(null);
      setError(errorText(e));
    }
  };
  return (
    <Section title="Try a draft">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void runDry();
        }}
      >
        <label for="draft-source">Policy source (YAML or JSON)</label>
        <textarea id="draft-source" class="code" rows={14} spellcheck={false} value={source} onInput={(e) => setSource((e.target as HTMLTextAreaElement).value)} />
        <div class="row">
          <div class="field">
            <label for="draft-group">Group (when the document names none)</label>
            <input id="draft-group" list="known-groups" value={group} onInput={(e) => setGroup((e.target as HTMLInputElement).value)} />
            <datalist id="known-groups">
              {groups.map((g) => (
                <option value={g} />
              ))}
            </datalist>
          </div>
          <button type="submit" class="primary" disabled={!source.trim()}>
            Dry run
          </button>
          {session.role === 'admin' ? (
            <button type="button" disabled={!source.trim()} onClick={() => setConfirming(true)}>
              Apply…
            </button>
          ) : (
            <p class="muted small" data-testid="apply-needs-admin">
              Applying a policy needs the admin role; you are signed in as {session.role}.
            </p>
          )}
        </div>
      </form>
      <ErrorNote error={error} />
      {applied && (
        <p class="ok" role="status">
          {applied}
        </p>
      )}
      {dryRun && (
        <div data-testid="dry-run">
          <p>
            {dryRun.policy_to} for group <strong>{dryRun.group}</strong>: of {dryRun.devices} devices, {dryRun.changed} would change and {dryRun.unchanged} would not.{' '}
            {Object.entries(dryRun.transitions)
              .map(([k, n]) => `${k}: ${n}`)
              .join('; ')}
          </p>
          {dryRun.differences.length > 0 && (
            <table>
              <thead>
                <tr>
                  <th scope="col">Device</th>
                  <th scope="col">Now</th>
                  <th scope="col">With the draft</th>
                  <th scope="col">Checks that change</th>
                </tr>
              </thead>
              <tbody>
                {dryRun.differences.map((d) => (
                  <tr>
                    <td>
                      <a href={`/devices/${d.device_id}`}>{d.hostname}</a>
                    </td>
                    <td>
                      <VerdictBadge verdict={d.from} /> {d.score_from}
                    </td>
                    <td>
                      <VerdictBadge verdict={d.to} /> {d.score_to}
                    </td>
                    <td>{d.checks.map((c) => `${c.id}: ${c.from} → ${c.to}`).join('; ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {dryRun.truncated && <p class="muted">Only the first devices are listed.</p>}
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title="Apply this policy?"
          description="It becomes a new version and every device of its group is judged by it at once. The reason is the version's message."
          confirmLabel="Apply"
          onClose={() => setConfirming(false)}
          onConfirm={async (message) => {
            const result = await api<{ policy: string; reevaluation: { devices: number; changed: number } }>('POST', '/v1/admin/policies', { ...body(), message });
            setApplied(`Applied ${result.policy}: ${result.reevaluation.changed} of ${result.reevaluation.devices} devices changed verdict.`);
            setDryRun(null);
            onApplied();
          }}
        />
      )}
    </Section>
  );
}
