import type { Posture } from '@postern/shared';

type Section = { status: 'ok' | 'error'; error?: string };

/** A few lines a person can read at a glance; `collect --json` has the full facts. */
export function summarizePosture(p: Posture): string[] {
  const lines: string[] = [];
  const line = (name: string, section: Section | undefined, ok: () => string) => {
    if (!section) return;
    lines.push(`${name.padEnd(16)}${section.status === 'ok' ? ok() : `could not read: ${section.error ?? 'unknown error'}`}`);
  };
  const yes = (b: boolean | null) => (b === null ? 'unknown' : b ? 'on' : 'off');

  line('os', p.os, () => {
    const os = p.os as Extract<Posture['os'], { status: 'ok' }>;
    return `${os.name} ${os.version}${os.build ? ` (${os.build})` : ''}, ${os.platform} ${os.arch}, kernel ${os.kernel}`;
  });
  line('disk encryption', p.disk_encryption, () => {
    const d = p.disk_encryption as Extract<Posture['disk_encryption'], { status: 'ok' }>;
    if (d.volumes.length === 0) return 'no volumes found';
    return d.volumes.map((v) => `${v.mount}${v.system ? ' (system)' : ''} ${describeVolume(v)}`).join('; ');
  });
  line('firewall', p.firewall, () => {
    const f = p.firewall as Extract<Posture['firewall'], { status: 'ok' }>;
    const profiles = f.profiles.length ? ` [${f.profiles.map((x) => `${x.name} ${yes(x.enabled)}`).join(', ')}]` : '';
    return `${f.enabled ? 'enabled' : 'disabled'} (${f.backend})${profiles}`;
  });
  line('patches', p.patches, () => {
    const u = p.patches as Extract<Posture['patches'], { status: 'ok' }>;
    const last = u.last_installed_at ? `, last installed ${new Date(u.last_installed_at * 1000).toISOString().slice(0, 10)}` : '';
    return `${u.pending} pending (${u.pending_security} security), automatic updates ${yes(u.auto_updates)}${last} (${u.source})`;
  });
  line('screen lock', p.screen_lock, () => {
    const s = p.screen_lock as Extract<NonNullable<Posture['screen_lock']>, { status: 'ok' }>;
    const scope = s.scope === 'machine' ? ' (machine policy)' : s.scope === 'console_user' ? ' (user at the console)' : '';
    return `${yes(s.enabled)}${s.idle_minutes !== null ? `, after ${s.idle_minutes} min idle` : ''}${scope}`;
  });
  line('secure boot', p.secure_boot, () => {
    const b = p.secure_boot as Extract<NonNullable<Posture['secure_boot']>, { status: 'ok' }>;
    const details = [b.mode, b.system_integrity_protection ? `SIP ${b.system_integrity_protection}` : undefined].filter(Boolean);
    return `${yes(b.enabled)}${details.length ? ` (${details.join(', ')})` : ''}`;
  });
  line('antivirus', p.antivirus, () => {
    const a = p.antivirus as Extract<NonNullable<Posture['antivirus']>, { status: 'ok' }>;
    const products = a.products.map((x) => `${x.name}${x.enabled ? '' : ' (disabled)'}`).join(', ');
    return `${a.active ? 'active' : 'not active'}${products ? `: ${products}` : ''}`;
  });
  return lines;
}

type Volume = Extract<Posture['disk_encryption'], { status: 'ok' }>['volumes'][number];

const DETAILS: Record<NonNullable<Volume['detail']>, string> = {
  paused: 'paused',
  deferred: 'turns on at the next login',
  waiting_for_activation: 'waiting for activation',
  hardware_only: 'hardware encryption only',
};

/** "encrypted (luks2)", "encrypting (filevault, 35%, paused)", "not encrypted (turns on at the next login)". */
function describeVolume(v: Volume): string {
  const extra = [v.progress === undefined ? undefined : `${v.progress}%`, v.detail ? DETAILS[v.detail] : undefined].filter(Boolean);
  if (v.state === 'off') return `not encrypted${extra.length ? ` (${extra.join(', ')})` : ''}`;
  const parts = [v.method ?? 'unknown method', ...extra];
  const state = v.state === 'on' ? 'encrypted' : v.state === 'unknown' ? 'encryption state unknown' : v.state;
  return `${state} (${parts.join(', ')})`;
}
