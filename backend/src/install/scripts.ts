import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTALL_ROOT } from './paths.js';

/** The install scripts the server hands out, by the name they are served under. */
export const INSTALL_SCRIPTS = {
  'linux.sh': { file: 'installers/linux/install.sh', line: /^DEFAULT_SERVER=''$/m, set: (url: string) => `DEFAULT_SERVER='${url}'` },
  'macos.sh': { file: 'installers/macos/install.sh', line: /^DEFAULT_SERVER=''$/m, set: (url: string) => `DEFAULT_SERVER='${url}'` },
  'windows.ps1': { file: 'installers/windows/install-service.ps1', line: /^\$DefaultServer = ''$/m, set: (url: string) => `$DefaultServer = '${url}'` },
} as const;
export type InstallScript = keyof typeof INSTALL_SCRIPTS;

// Only a URL made of these characters is written into a script, inside single quotes, where
// sh and PowerShell alike take every one of them literally.
const SAFE_URL = /^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~/-]*)?$/;

/**
 * The script `name` as shipped, with `serverUrl` as its default server, so that the line a
 * contractor pastes needs no more than the script's own address.
 */
export async function installScript(name: InstallScript, serverUrl: string): Promise<string> {
  const script = INSTALL_SCRIPTS[name];
  // The scripts ship with the server like its code: one missing is a broken installation (a 500,
  // and the log says which file), not something the client asked wrongly for.
  const source = await readFile(join(INSTALL_ROOT, script.file), 'utf8').catch((error: unknown) => {
    throw new Error(`cannot read ${script.file} of this installation (${INSTALL_ROOT}): install the server from a complete checkout, installers/ included`, { cause: error });
  });
  const url = serverUrl.replace(/\/+$/, '');
  return SAFE_URL.test(url) ? source.replace(script.line, script.set(url)) : source;
}
