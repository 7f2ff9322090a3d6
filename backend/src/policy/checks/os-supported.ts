import { platform } from '@postern/shared';
import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const osSupportedParams = z.strictObject({
  /** Platforms allowed at all. */
  platforms: z.array(platform).min(1).default(['linux', 'darwin', 'win32']),
  /** os-release IDs allowed on Linux; absent: every distribution. */
  linux_distributions: z.array(z.string().min(1)).min(1).optional(),
});

export const osSupported: CatalogCheck<z.infer<typeof osSupportedParams>> = {
  id: 'os.supported',
  summary: 'the platform (and on Linux the distribution) is one the policy allows at all',
  section: 'os',
  params: osSupportedParams,
  reasons: ['platform_not_allowed', 'distribution_not_allowed'],
  evaluate(posture, params) {
    const os = posture.os;
    const missing = unreadable('the operating system', os);
    if (missing || os.status !== 'ok') return missing!;
    if (!params.platforms.includes(os.platform)) return { status: 'fail', reason: 'platform_not_allowed', message: `${os.name} (${os.platform}) is not an allowed platform: only ${params.platforms.join(', ')}` };
    if (os.platform === 'linux' && params.linux_distributions && !params.linux_distributions.includes(os.id)) {
      return { status: 'fail', reason: 'distribution_not_allowed', message: `${os.name} (${os.id}) is not an allowed distribution: only ${params.linux_distributions.join(', ')}` };
    }
    return { status: 'pass', message: `${os.name} (${os.platform === 'linux' ? os.id : os.platform}) is allowed` };
  },
  remediation: {
    linux: {
      default: 'This operating system is not allowed for your group: use a device with an allowed platform, or ask the security team for an exception.',
      distribution_not_allowed: 'This Linux distribution is not allowed for your group: reinstall with an allowed one (see the message), or use another device.',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: { default: 'macOS is not allowed for your group: use a device with an allowed platform, or ask the security team for an exception.', unknown: RUN_PRIVILEGED.darwin },
    win32: { default: 'Windows is not allowed for your group: use a device with an allowed platform, or ask the security team for an exception.', unknown: RUN_PRIVILEGED.win32 },
  },
};
