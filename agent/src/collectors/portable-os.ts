import type { OsSection } from '@postern/shared';
import type { ProbeContext } from './probe.js';
import { okSection } from './section.js';

/**
 * The os section for platforms whose collectors are not written yet (darwin, win32),
 * from systeminformation. Loaded on demand so the Linux agent never pays for it. Not
 * replayable from a recording; the platform collectors will read through the context.
 */
export async function portableOs(ctx: ProbeContext): Promise<OsSection> {
  const si = await import('systeminformation');
  const info = await (si.osInfo ?? si.default.osInfo)();
  return okSection(ctx, {
    platform: ctx.platform,
    id: ctx.platform === 'darwin' ? 'macos' : ctx.platform === 'win32' ? 'windows' : 'linux',
    name: info.distro || (ctx.platform === 'darwin' ? 'macOS' : 'Windows'),
    version: info.release || 'unknown',
    build: info.build || null,
    kernel: ctx.kernel,
    arch: ctx.arch,
  });
}
