import type { Posture } from '@postern/shared';

/** The same posture with `pending` security updates waiting. */
export function withPendingSecurity(posture: Posture, pending: number): Posture {
  if (posture.patches.status !== 'ok') return posture;
  return { ...posture, patches: { ...posture.patches, pending: Math.max(posture.patches.pending, pending), pending_security: pending } };
}

/** The same posture with the optional screen-lock section. */
export function withScreenLock(posture: Posture, idleMinutes: number | null, enabled: boolean | null = true): Posture {
  return { ...posture, screen_lock: { status: 'ok', collected_at: posture.os.collected_at, enabled, idle_minutes: idleMinutes } };
}

/** The same facts, every section read at `at`: a later report of an unchanged device. */
export function collectedAt(posture: Posture, at: number): Posture {
  return Object.fromEntries(Object.entries(posture).map(([name, section]) => [name, section ? { ...section, collected_at: at } : section])) as Posture;
}
