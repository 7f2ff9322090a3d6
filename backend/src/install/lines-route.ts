import type { Router } from '@koa/router';
import { z } from 'zod';
import { requireRole } from '../admin/require-admin.js';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { installLines } from './lines.js';

export const INSTALL_LINES_PATH = '/v1/admin/install-lines';

export const installLinesAnswer = z.object({
  server: z.string().describe("the server's public URL the lines point to"),
  lines: z.object({ linux: z.string(), macos: z.string(), windows: z.string() }).describe('per platform, what an administrator of the device runs; the installer asks for the token (hidden input)'),
});

/** The one-line installs `token create --install` prints, for the dashboard's Enrollment page: the same function, so the two never drift apart. */
export function installLinesRoute(router: Router, backend: Backend): void {
  router.get(INSTALL_LINES_PATH, requireRole(backend, 'viewer'), (ctx) => {
    let lines: z.infer<typeof installLinesAnswer>['lines'];
    try {
      lines = installLines(backend.issuer);
    } catch (error) {
      throw new HttpError('conflict', `${error instanceof Error ? error.message : String(error)}: set POSTERN_PUBLIC_URL to such a URL and restart the server`);
    }
    const body: z.infer<typeof installLinesAnswer> = { server: backend.issuer, lines };
    ctx.body = body;
  });
}
