import { z } from 'zod';
import { compareVersions, minVersion, minVersionOrAny } from '../version-compare.js';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const osMinVersionParams = z.strictObject({
  /** Minimum version per os-release ID; a distribution not listed is unsupported. `"any"` accepts every version. */
  linux: z.record(z.string(), minVersionOrAny).optional(),
  /** Minimum macOS version; absent: every macOS version passes. */
  darwin: minVersion.optional(),
  /** Windows is judged by its build number (Windows 11 reports "Windows 10" in places). */
  win32_build: z.number().int().nonnegative().optional(),
});
export type OsMinVersionParams = z.infer<typeof osMinVersionParams>;

export const osMinVersion: CatalogCheck<OsMinVersionParams> = {
  id: 'os.min_version',
  summary: 'the operating system is at least a minimum version, per platform and Linux distribution',
  section: 'os',
  params: osMinVersionParams,
  reasons: ['too_old', 'unsupported_distribution'],
  evaluate(posture, params) {
    const os = posture.os;
    const missing = unreadable('the operating system', os);
    if (missing || os.status !== 'ok') return missing!;
    if (os.platform === 'win32') {
      if (params.win32_build === undefined) return { status: 'pass', message: `${os.name} is accepted: the policy sets no minimum Windows build` };
      const build = Number(os.build ?? /\d+\.\d+\.(\d+)/.exec(os.version)?.[1]);
      if (!Number.isInteger(build)) return { status: 'unknown', reason: 'unknown', message: `Windows build number unreadable (${os.version})` };
      return build >= params.win32_build
        ? { status: 'pass', message: `${os.name} build ${build} is supported` }
        : { status: 'fail', reason: 'too_old', message: `${os.name} build ${build} is older than the minimum build ${params.win32_build}` };
    }
    if (os.platform === 'darwin' && params.darwin === undefined) return { status: 'pass', message: `${os.name} ${os.version} is accepted: the policy sets no minimum macOS version` };
    if (os.platform === 'linux' && params.linux === undefined) return { status: 'pass', message: `${os.name} ${os.version} is accepted: the policy sets no minimum Linux versions` };
    const minimum = os.platform === 'darwin' ? params.darwin : params.linux?.[os.id];
    if (minimum === undefined) return { status: 'fail', reason: 'unsupported_distribution', message: `${os.name} (${os.id}) is not a supported distribution` };
    if (minimum === 'any') return { status: 'pass', message: `${os.name} ${os.version} is supported` };
    const cmp = compareVersions(os.version, minimum);
    if (cmp === null) return { status: 'unknown', reason: 'unknown', message: `version "${os.version}" of ${os.name} cannot be compared with ${minimum}` };
    return cmp >= 0
      ? { status: 'pass', message: `${os.name} ${os.version} is at or above ${minimum}` }
      : { status: 'fail', reason: 'too_old', message: `${os.name} ${os.version} is older than the minimum ${minimum}` };
  },
  remediation: {
    linux: {
      default: 'Upgrade to a supported release of your distribution (Debian 12, Ubuntu 22.04, RHEL/Rocky/Alma 9, Fedora 41 or newer), e.g. `sudo do-release-upgrade` on Ubuntu.',
      unsupported_distribution: 'This Linux distribution is not accepted by the policy: reinstall with a supported one (Debian, Ubuntu, RHEL/Rocky/Alma, Fedora), or ask the security team to add it.',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: { default: 'Open System Settings > General > Software Update and upgrade to macOS 14 (Sonoma) or newer.', unknown: RUN_PRIVILEGED.darwin },
    win32: { default: 'Open Settings > Windows Update and install Windows 10 22H2 (build 19045) or Windows 11.', unknown: RUN_PRIVILEGED.win32 },
  },
};
