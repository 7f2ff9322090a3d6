import { FileKeyStore } from '../keystore/file-key-store.js';
import type { KeyStore } from '../keystore/key-store.js';
import { resolveStateDir } from '../state/paths.js';
import { StateStore } from '../state/store.js';

/** The state store and key store every command works on, from `--state` and the environment. */
export function openState(stateFlag: string | undefined): { store: StateStore; keyStore: KeyStore } {
  const dir = resolveStateDir({ flag: stateFlag });
  return { store: new StateStore(dir), keyStore: new FileKeyStore(dir) };
}

/** Times as people read them: "2025-11-25 03:04 UTC". */
export function formatTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "5 minutes ago", "2 days ago" */
export function formatAge(seconds: number, nowMs = Date.now()): string {
  const age = Math.max(0, Math.round(nowMs / 1000 - seconds));
  if (age < 60) return `${age} s ago`;
  if (age < 3600) return `${Math.round(age / 60)} min ago`;
  if (age < 86_400) return `${Math.round(age / 3600)} h ago`;
  return `${Math.round(age / 86_400)} days ago`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
