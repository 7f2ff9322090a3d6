/** What `mokutil --sb-state` says about Secure Boot. */
export type MokutilSbState =
  | { kind: 'state'; enabled: boolean; mode?: 'shim_validation_disabled' | 'setup' }
  | { kind: 'unsupported'; reason: 'no_secure_boot' | 'no_efi' };

/**
 * `mokutil --sb-state` (no root; reads efivarfs). Its messages are not translated.
 * - `SecureBoot enabled` / `SecureBoot disabled`;
 * - `SecureBoot validation is disabled in shim` after `mokutil --disable-validation`:
 *   the firmware verifies shim, shim verifies nothing, so Secure Boot is effectively off;
 * - `Platform is in Setup Mode`: no platform key, nothing is enforced;
 * - exit 255 with `This system doesn't support Secure Boot` or `EFI variables are not
 *   supported on this system` (legacy BIOS boot): not applicable, never "disabled".
 * null for anything else.
 */
export function parseMokutilSbState(text: string): MokutilSbState | null {
  if (/doesn't support Secure Boot/i.test(text)) return { kind: 'unsupported', reason: 'no_secure_boot' };
  if (/EFI variables are not supported/i.test(text)) return { kind: 'unsupported', reason: 'no_efi' };
  const state = /^SecureBoot (enabled|disabled)\s*$/m.exec(text)?.[1];
  if (!state) return null;
  if (/^SecureBoot validation is disabled in shim/m.test(text)) return { kind: 'state', enabled: false, mode: 'shim_validation_disabled' };
  if (/Setup Mode/i.test(text)) return { kind: 'state', enabled: false, mode: 'setup' };
  return { kind: 'state', enabled: state === 'enabled' };
}

/**
 * The `SecureBoot` EFI variable as read from efivarfs: four attribute bytes, then one
 * byte that is 1 when Secure Boot is on. null when the content is not that.
 */
export function parseSecureBootEfiVar(content: string): boolean | null {
  if (content.length !== 5) return null;
  const value = content.charCodeAt(4);
  return value === 1 ? true : value === 0 ? false : null;
}
