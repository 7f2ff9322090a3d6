import type { SecureBootSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection } from '../section.js';
import { parseMokutilSbState, parseSecureBootEfiVar } from './parse-mokutil.js';

export const NO_EFI = 'Secure Boot not supported on BIOS firmware: this machine did not boot through UEFI';
export const NO_SECURE_BOOT = 'Secure Boot not supported by this machine\'s UEFI firmware (no SecureBoot variable)';
const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
export const SECURE_BOOT_VAR = `/sys/firmware/efi/efivars/SecureBoot-${EFI_GLOBAL}`;
export const SETUP_MODE_VAR = `/sys/firmware/efi/efivars/SetupMode-${EFI_GLOBAL}`;
/** Present on every UEFI boot since Linux 4.x and readable by anyone. */
export const EFI_PLATFORM_SIZE = '/sys/firmware/efi/fw_platform_size';

/**
 * Linux Secure Boot from mokutil, which also knows when shim's own validation was
 * switched off; without mokutil, from the EFI variables themselves.
 */
export async function linuxSecureBoot(ctx: ProbeContext): Promise<SecureBootSection> {
  const r = await ctx.exec('mokutil', ['--sb-state']);
  if (r.failure !== 'not_found') {
    const state = parseMokutilSbState(`${r.stdout}\n${r.stderr}`);
    if (state?.kind === 'unsupported') return errorSection(ctx, state.reason === 'no_efi' ? NO_EFI : NO_SECURE_BOOT);
    if (state?.kind === 'state') return okSection(ctx, { enabled: state.enabled, ...(state.mode ? { mode: state.mode } : {}) });
  }
  const fromEfi = await fromEfiVars(ctx);
  if (fromEfi) return fromEfi;
  return errorSection(ctx, r.failure === 'not_found' ? 'cannot read the SecureBoot EFI variable and mokutil is not installed' : execFailureReason('mokutil', r));
}

async function fromEfiVars(ctx: ProbeContext): Promise<SecureBootSection | null> {
  const [secureBoot, setupMode, platformSize] = await Promise.all([
    ctx.readFile(SECURE_BOOT_VAR),
    ctx.readFile(SETUP_MODE_VAR),
    ctx.readFile(EFI_PLATFORM_SIZE),
  ]);
  const enabled = secureBoot === null ? null : parseSecureBootEfiVar(secureBoot);
  if (enabled !== null) {
    if (setupMode !== null && parseSecureBootEfiVar(setupMode) === true) return okSection(ctx, { enabled: false, mode: 'setup' });
    return okSection(ctx, { enabled });
  }
  if (platformSize === null) return errorSection(ctx, NO_EFI);
  if (secureBoot === null) return errorSection(ctx, NO_SECURE_BOOT);
  return null;
}
