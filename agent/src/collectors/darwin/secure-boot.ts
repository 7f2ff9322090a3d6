import type { SecureBootSection } from '@postern/shared';
import type { ProbeContext } from '../probe.js';
import { errorSection, execFailureReason, isPermissionDenied, needsPrivilege, okSection, succeeded } from '../section.js';
import { parseBputil, parseCsrutilStatus, parseT2SecureBootPolicy, SECURE_BOOT_POLICY_VAR, weakestMode } from './parse-boot-policy.js';

export const NO_SECURE_BOOT = 'Secure Boot not supported: this Intel Mac has no T2 security chip';
export const APPLE_SILICON_ARGS = ['-n', 'hw.optional.arm64'];

/**
 * Secure boot of a Mac, with System Integrity Protection (`csrutil status`) beside it.
 * - Apple silicon (`hw.optional.arm64` = 1, also under Rosetta): the boot policy of
 *   `bputil -d` (root). Every volume group can boot, so the weakest one decides.
 * - Intel: the T2 chip's AppleSecureBootPolicy NVRAM variable; without it the Mac has
 *   no secure boot at all.
 * Full, reduced (Apple silicon) and medium (T2) verify what boots; permissive and none
 * do not.
 */
export async function darwinSecureBoot(ctx: ProbeContext): Promise<SecureBootSection> {
  const [arm64, csrutil] = await Promise.all([ctx.exec('sysctl', APPLE_SILICON_ARGS), ctx.exec('csrutil', ['status'])]);
  const sip = succeeded(csrutil) ? parseCsrutilStatus(csrutil.stdout) : null;
  const ok = (mode: string, enabled: boolean) => okSection(ctx, { enabled, mode, ...(sip ? { system_integrity_protection: sip } : {}) });

  if (succeeded(arm64) && arm64.stdout.trim() === '1') {
    const bputil = await ctx.exec('bputil', ['-d']);
    const policies = bputil.failure ? null : parseBputil(`${bputil.stdout}\n${bputil.stderr}`);
    const mode = policies ? weakestMode(policies.modes) : null;
    if (mode) return ok(mode, mode !== 'permissive');
    if (policies) {
      const failed = policies.failed ? ` (${policies.failed} volume group${policies.failed > 1 ? 's' : ''} could not be read)` : '';
      return errorSection(ctx, `bputil did not report a security mode${failed}`);
    }
    if (bputil.failure !== 'not_found' && (isPermissionDenied(bputil) || !ctx.isPrivileged)) return errorSection(ctx, needsPrivilege(ctx, 'the boot policy'));
    return errorSection(ctx, execFailureReason('bputil', bputil));
  }

  const nvram = await ctx.exec('nvram', [SECURE_BOOT_POLICY_VAR]);
  const mode = succeeded(nvram) ? parseT2SecureBootPolicy(nvram.stdout) : null;
  if (mode) return ok(mode, mode !== 'none');
  if (!nvram.failure && /not found/i.test(nvram.stderr)) return errorSection(ctx, NO_SECURE_BOOT);
  return errorSection(ctx, succeeded(nvram) ? 'unrecognised AppleSecureBootPolicy value' : execFailureReason('nvram', nvram));
}
