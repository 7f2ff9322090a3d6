import { z } from 'zod';
import { compareVersions } from '../version-compare.js';
import type { CatalogCheck } from '../types.js';

export const osMinVersionParams = z.object({
  /** Minimum version per os-release ID; a distribution not listed is unsupported. `"any"` accepts every version. */
  linux: z.record(z.string(), z.string()),
  darwin: z.string(),
  /** Windows is judged by its build number (Windows 11 reports "Windows 10" in places). */
  win32_build: z.number().int(),
});
export type OsMinVersionParams = z.infer<typeof osMinVersionParams>;

export const osMinVersion: CatalogCheck<OsMinVersionParams> = {
  id: 'os.min_version',
  evaluate(posture, params) {
    const os = posture.os;
    if (os.status !== 'ok') return { status: 'unknown', message: `operating system could not be read: ${os.error}` };
    if (os.platform === 'win32') {
      const build = Number(os.build ?? /\d+\.\d+\.(\d+)/.exec(os.version)?.[1]);
      if (!Number.isInteger(build)) return { status: 'unknown', message: `Windows build number unreadable (${os.version})` };
      return build >= params.win32_build
        ? { status: 'pass', message: `${os.name} build ${build} is supported` }
        : { status: 'fail', message: `${os.name} build ${build} is older than the minimum build ${params.win32_build}` };
    }
    const minimum = os.platform === 'darwin' ? params.darwin : params.linux[os.id];
    if (minimum === undefined) return { status: 'fail', message: `${os.name} (${os.id}) is not a supported distribution` };
    if (minimum === 'any') return { status: 'pass', message: `${os.name} ${os.version} is supported` };
    const cmp = compareVersions(os.version, minimum);
    if (cmp === null) return { status: 'unknown', message: `version "${os.version}" of ${os.name} cannot be compared with ${minimum}` };
    return cmp >= 0
      ? { status: 'pass', message: `${os.name} ${os.version} is at or above ${minimum}` }
      : { status: 'fail', message: `${os.name} ${os.version} is older than the minimum ${minimum}` };
  },
};
