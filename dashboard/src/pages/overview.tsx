import { useEffect } from 'preact/hooks';
import { api, query } from '../api.js';
import { ErrorNote, Section, useLoad } from '../components/async.js';
import { SeriesChart } from '../components/series-chart.js';
import { VerdictBadge } from '../components/verdict-badge.js';
import { VERDICTS, ago, when } from '../format.js';
import { liveFeed } from '../live.js';
import type { Overview } from '../types.js';

const RANGES = ['24h', '7d', '30d'] as const;

export function OverviewPage({ range }: { range: string }) {
  const r = (RANGES as readonly string[]).includes(range) ? range : '7d';
  const overview = useLoad(() => api<Overview>('GET', `/v1/admin/fleet/overview${query({ range: r })}`), r);
  // Any change anywhere may move a count: read the figures again, at most every half second.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const later = () => {
      timer ??= setTimeout(() => {
        timer = null;
        overview.reload();
      }, 500);
    };
    const off = [liveFeed.subscribe(later), liveFeed.onReset(later)];
    return () => {
      off.forEach((f) => f());
      if (timer) clearTimeout(timer);
    };
  }, [overview.reload]);
  const o = overview.data;
  if (o) liveFeed.startAfter(o.seq);
  return (
    <>
      <div class="page-head">
        <h1>Fleet overview</h1>
        <nav aria-label="Time range" class="segmented">
          {RANGES.map((x) => (
            <a href={`/?range=${x}`} aria-current={x === r ? 'true' : undefined}>
              {x}
            </a>
          ))}
        </nav>
      </div>
      <ErrorNote error={overview.error} />
      {o && (
        <>
          <div class="tiles" data-testid="verdict-tiles">
            <a class="tile" href="/devices">
              <span class="tile-n" data-testid="total-devices">{o.devices}</span>
              <span class="tile-l">devices</span>
            </a>
            {VERDICTS.filter((v) => (o.by_verdict[v] ?? 0) > 0 || v === 'compliant' || v === 'noncompliant').map((v) => (
              <a class={`tile tile-${v}`} href={`/devices?verdict=${v}`} data-testid={`count-${v}`}>
                <span class="tile-n">{o.by_verdict[v] ?? 0}</span>
                <span class="tile-l">{v}</span>
              </a>
            ))}
            <a class="tile" href="/devices?status=pending_approval">
              <span class="tile-n">{o.pending_approvals}</span>
              <span class="tile-l">awaiting approval</span>
            </a>
            <a class="tile" href={`/devices?not_reporting_s=${o.not_reporting.after_s}`}>
              <span class="tile-n">{o.not_reporting.devices}</span>
              <span class="tile-l">silent for {Math.round(o.not_reporting.after_s / 3600)} h</span>
            </a>
          </div>
          <Section title="Compliance over time">
            <SeriesChart points={o.series.points} label={`Devices by verdict over the last ${r}, one point every ${o.series.bucket_s / 3600} hours`} />
          </Section>
          <div class="grid-2">
            <Section title="Checks failing most">
              {o.failing_checks.length === 0 ? (
                <p class="muted">No device fails a check.</p>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Check</th>
                      <th scope="col" class="num">Devices</th>
                    </tr>
                  </thead>
                  <tbody>
                    {o.failing_checks.map((c) => (
                      <tr>
                        <td>
                          <a href={`/devices?failing=${encodeURIComponent(c.check)}`}>{c.check}</a>
                        </td>
                        <td class="num">{c.devices}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Section>
            <Section title="Operating systems">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Platform</th>
                    <th scope="col">Version</th>
                    <th scope="col" class="num">Devices</th>
                  </tr>
                </thead>
                <tbody>
                  {o.os_versions.map((v) => (
                    <tr>
                      <td>{v.platform}</td>
                      <td>{v.version ? <a href={`/devices${query({ platform: v.platform, os_version: v.version })}`}>{v.version}</a> : <span class="muted">not reported yet</span>}</td>
                      <td class="num">{v.devices}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          </div>
          <Section title={`Ending within ${Math.round(o.ending_soon.within_s / 86400)} days`}>
            {o.ending_soon.devices.length + o.ending_soon.exceptions.length === 0 ? (
              <p class="muted">No enrollment or exception ends soon.</p>
            ) : (
              <ul class="plain">
                {o.ending_soon.devices.map((d) => (
                  <li>
                    <a href={`/devices/${d.device_id}`}>{d.hostname}</a>: enrollment ends {when(d.expires_at)} ({ago(d.expires_at)})
                  </li>
                ))}
                {o.ending_soon.exceptions.map((x) => (
                  <li>
                    <a href={`/devices/${x.device_id}`}>{x.hostname}</a>: exception for <code>{x.check}</code> ends {when(x.until)} ({ago(x.until)})
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <p class="muted small">
            Figures as of {when(o.at)}; updated live. <VerdictBadge verdict="compliant" /> and <VerdictBadge verdict="grace" /> pass gateways; the rest are denied.
          </p>
        </>
      )}
    </>
  );
}
