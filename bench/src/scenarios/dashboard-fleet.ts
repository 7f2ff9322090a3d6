/**
 * A fleet for the dashboard's reads, written with SQL in seconds at 100,000 devices: the same
 * rows enrollment, reports and the judge write (devices, standing with its checks, the latest
 * posture, the event stream), with the spread a real fleet has: four platforms' worth of OS
 * versions, a tenth failing the firewall, a tenth unencrypted, a few silent or awaiting approval.
 * The search never verifies keys, so each device gets a placeholder public key.
 */
import pg from 'pg';
import { fakePosture } from '@postern/testkit/postures';

const check = (id: string, status: 'pass' | 'fail', message: string) => ({ id, status, severity: 'high', weight: 25, message, remediation: status === 'fail' ? `fix ${id}` : null, failing_since: null });

export async function seedDashboardFleet(databaseUrl: string, count: number): Promise<{ seconds: number }> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const now = Math.floor(Date.now() / 1000);
    // One posture per platform as a template (a real posture's size, so TOAST behaves as in production).
    const postures = { linux: fakePosture({ platform: 'linux', now }), darwin: fakePosture({ platform: 'darwin', now }), win32: fakePosture({ platform: 'win32', now }) };
    const checks = {
      ok: [check('os.min_version', 'pass', 'ok'), check('disk_encryption.system_volume', 'pass', 'ok'), check('firewall.enabled', 'pass', 'ok'), check('patches.max_pending_security', 'pass', 'ok')],
      firewall: [check('os.min_version', 'pass', 'ok'), check('disk_encryption.system_volume', 'pass', 'ok'), check('firewall.enabled', 'fail', 'off'), check('patches.max_pending_security', 'pass', 'ok')],
      disk: [check('os.min_version', 'pass', 'ok'), check('disk_encryption.system_volume', 'fail', 'off'), check('firewall.enabled', 'pass', 'ok'), check('patches.max_pending_security', 'pass', 'ok')],
    };
    await client.query('begin');
    // i % 10: 0..6 healthy, 7 firewall off (noncompliant), 8 unencrypted (noncompliant), 9 patches behind (grace).
    await client.query(
      `insert into devices (id, kid, public_jwk, ueid, machine_id, hostname, platform, agent_version, group_name, owner, status, enrolled_at, last_seen_at, expires_at)
       select gen_random_uuid(), 'bench-kid-' || i, '{"kty":"EC","crv":"P-256","x":"x","y":"y"}', 'bench-ueid-' || i, md5(i::text),
              (array['lap','desk','build','kiosk'])[1 + i % 4] || '-' || lpad(i::text, 6, '0'),
              (array['linux','linux','darwin','win32'])[1 + (i / 10) % 4], '0.1.0',
              (array['employees','contractors','engineering','servers','kiosks'])[1 + i % 5],
              'owner' || (i % 5000) || '@example.com',
              case when i % 500 = 1 then 'pending_approval' when i % 1000 = 3 then 'revoked' else 'active' end,
              now() - interval '30 days' + (i % 43200) * interval '1 minute',
              case when i % 200 = 5 then now() - interval '3 days' else now() - (i % 300) * interval '1 second' end,
              case when i % 100 = 7 then now() + (i % 14) * interval '1 day' else null end
       from generate_series(0, $1::int - 1) i`,
      [count],
    );
    await client.query(
      `insert into device_standing (device_id, verdict, score, checks, policy_id, evaluated_at, verdict_since, next_change_at)
       select d.id,
              case when d.status = 'pending_approval' then 'pending' when d.status = 'revoked' then 'revoked'
                   when k = 7 or k = 8 then 'noncompliant' when k = 9 then 'grace' else 'compliant' end,
              case when k in (7, 8) then 75 when k = 9 then 90 else 100 end,
              case when k = 7 then $1::jsonb when k = 8 then $2::jsonb else $3::jsonb end,
              'default@1', now(), now() - (n % 10080) * interval '1 minute', null
       from (select id, status, (row_number() over ())::int as n, (substr(hostname, length(hostname))::int) as k from devices) d`,
      [JSON.stringify(checks.firewall), JSON.stringify(checks.disk), JSON.stringify(checks.ok)],
    );
    await client.query(
      `insert into device_posture (device_id, seq, attested_at, received_at, posture)
       select d.id, 1, now(), now(),
              jsonb_set(case d.platform when 'darwin' then $2::jsonb when 'win32' then $3::jsonb else $1::jsonb end, '{os,version}',
                        to_jsonb((array['22.04','24.04','12','9.4','14.6','15.1','10.0.19045','10.0.22631'])[1 + (abs(hashtext(d.id::text)) % 8)]))
       from devices d where d.status <> 'pending_approval'`,
      [JSON.stringify(postures.linux), JSON.stringify(postures.darwin), JSON.stringify(postures.win32)],
    );
    // The stream's history: each device's enrollment and first verdict, over the last week.
    await client.query(
      `insert into events (seq, at, type, actor, device_id, data)
       select (select coalesce(max(seq), 0) from events) + row_number() over (order by t, d.id), t, type, 'postern', d.id, data
       from (select d.id, now() - interval '7 days' + (abs(hashtext(d.id::text)) % 10000) * interval '1 minute' as t, 'device.enrolled' as type,
                    jsonb_build_object('hostname', d.hostname, 'platform', d.platform, 'group', d.group_name, 'owner', d.owner, 'status', 'active', 'expires_at', null, 'enrollment_token_id', gen_random_uuid()) as data
             from devices d
             union all
             select s.device_id, now() - interval '7 days' + (abs(hashtext(s.device_id::text)) % 10000 + 5) * interval '1 minute', 'device.verdict_changed',
                    jsonb_build_object('from', 'unknown', 'to', s.verdict, 'score', s.score, 'failing', s.failing, 'cause', 'report', 'policy', 'default@1')
             from device_standing s where s.verdict not in ('pending', 'revoked')) d(id, t, type, data)`,
    );
    // Rows written without the server: the overview's rollup is built again from them at its next start.
    await client.query('delete from fleet_rollup');
    await client.query('commit');
    await client.query('analyze');
  } finally {
    await client.end();
  }
  return { seconds: (performance.now() - started) / 1000 };
}
