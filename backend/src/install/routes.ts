import type { Router } from '@koa/router';
import { z } from 'zod';
import type { Backend } from '../context.js';
import { HttpError } from '../http/http-error.js';
import { artefactName, openArtefact } from './artefacts.js';
import { INSTALL_SCRIPTS, installScript, type InstallScript } from './scripts.js';

export const artefactParams = z.object({ file: artefactName });

/**
 * `GET /install/linux.sh`, `/install/macos.sh`, `/install/windows.ps1`: the installers, defaulting
 * to this server; `GET /install/artefacts/:file`: the packages and their SHA256SUMS, which the
 * installers check before installing anything. No token ever reaches these routes: the installers
 * read it on the device and send it only to POST /v1/enroll.
 */
export function installRoutes(router: Router, backend: Backend, packagesDir: string): void {
  for (const name of Object.keys(INSTALL_SCRIPTS) as InstallScript[]) {
    router.get(`/install/${name}`, async (ctx) => {
      ctx.body = await installScript(name, backend.issuer);
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('cache-control', 'no-cache');
    });
  }

  router.get('/install/artefacts/:file', async (ctx) => {
    const params = artefactParams.safeParse(ctx.params);
    if (!params.success) throw new HttpError('malformed', params.error.issues[0]?.message ?? 'not an artefact name');
    const { size, stream } = await openArtefact(packagesDir, params.data.file);
    ctx.type = 'application/octet-stream';
    ctx.length = size;
    ctx.set('content-disposition', `attachment; filename="${params.data.file}"`);
    // Names are reused by rebuilds of one version: always revalidate.
    ctx.set('cache-control', 'no-cache');
    ctx.body = stream;
  });
}
