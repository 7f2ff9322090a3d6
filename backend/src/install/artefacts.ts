import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HttpError } from '../http/http-error.js';

/** A file name as `pnpm package` writes them: no directory part, nothing hidden. */
export const artefactName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+~-]{0,199}$/, 'an artefact is named by a plain file name, e.g. SHA256SUMS or postern-agent-0.1.0-linux-x64.tar.gz')
  .meta({ description: 'a file of the packages directory, e.g. SHA256SUMS or postern-agent_0.1.0_amd64.deb' });

export interface Artefact {
  size: number;
  stream: ReadStream;
}

/** Opens `name` in `dir`; a name that is not a regular file there is not_found, with what to do. */
export async function openArtefact(dir: string, name: string): Promise<Artefact> {
  const path = join(dir, name);
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) {
    throw new HttpError('not_found', `no artefact ${name} in this server's packages directory (${dir}): its administrator builds them with \`pnpm package\` or points POSTERN_PACKAGES_DIR at them; SHA256SUMS lists what there is`);
  }
  return { size: info.size, stream: createReadStream(path) };
}
