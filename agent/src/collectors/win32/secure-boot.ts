import type { SecureBootSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, okSection, succeeded } from '../section.js';
import { parseRegQuery } from './parse-reg-query.js';
import { isAccessDenied, powershellErrorReason, runPowerShell } from './powershell.js';

export const SECURE_BOOT_SCRIPT = 'Confirm-SecureBootUEFI';
export const SECURE_BOOT_STATE_KEY = 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecureBoot\\State';
export const SECURE_BOOT_STATE_ARGS = ['query', SECURE_BOOT_STATE_KEY, '/v', 'UEFISecureBootEnabled'];
export const NO_UEFI = 'Secure Boot not supported on BIOS firmware: this PC boots in legacy BIOS (CSM) mode';

/**
 * `Confirm-SecureBootUEFI` prints True or False as an administrator. On BIOS/CSM it
 * throws PlatformNotSupportedException ("Cmdlet not supported on this platform"): not
 * applicable, never "off". Without elevation it throws UnauthorizedAccessException, and
 * the registry's UEFISecureBootEnabled (readable by anyone, present only on UEFI
 * machines) answers instead.
 */
export async function windowsSecureBoot(ctx: ProbeContext): Promise<SecureBootSection> {
  const ps = await runPowerShell(ctx, SECURE_BOOT_SCRIPT);
  if (ps.kind === 'output') {
    const answer = ps.stdout.trim();
    if (/^(True|False)$/i.test(answer)) return okSection(ctx, { enabled: /^True$/i.test(answer) });
    return errorSection(ctx, `unrecognised Confirm-SecureBootUEFI output: ${answer.slice(0, 60)}`);
  }
  if (ps.kind === 'error') {
    if (/PlatformNotSupported/.test(ps.error.type) || /not supported on this platform/i.test(ps.error.message)) return errorSection(ctx, NO_UEFI);
    if (!isAccessDenied(ps.error)) return errorSection(ctx, powershellErrorReason('Confirm-SecureBootUEFI', ps.error));
  }
  const reg = await ctx.exec('reg', SECURE_BOOT_STATE_ARGS);
  if (reg.failure) return errorSection(ctx, execFailureReason('reg', reg));
  if (!succeeded(reg)) return errorSection(ctx, NO_UEFI);
  const value = parseRegQuery(reg.stdout).get('uefisecurebootenabled')?.value;
  if (value === 0 || value === 1) return okSection(ctx, { enabled: value === 1 });
  return errorSection(ctx, 'unrecognised UEFISecureBootEnabled value');
}
