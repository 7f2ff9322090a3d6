/** What `postern-server token create --install` prints: the one line a contractor pastes, per platform. */
export interface InstallLines {
  linux: string;
  macos: string;
  windows: string;
}

// The URL goes into a shell line unquoted: only characters no shell or PowerShell treats specially.
const PASTEABLE_URL = /^https?:\/\/[A-Za-z0-9.:[\]_-]+(\/[A-Za-z0-9._~/-]*)?$/;

/**
 * The lines carry no token: the installers ask for it at the terminal (hidden input), so it stays
 * out of URLs, process lists and shell history, and the administrator sends it on its own.
 */
export function installLines(serverUrl: string): InstallLines {
  const url = serverUrl.replace(/\/+$/, '');
  if (!PASTEABLE_URL.test(url)) throw new Error(`--install ${JSON.stringify(serverUrl)}: give the server's public http(s) URL, made of letters, digits and . : - _ ~ / only`);
  return {
    linux: `curl -fsSL ${url}/install/linux.sh | sudo sh -s -- --server ${url}`,
    macos: `curl -fsSL ${url}/install/macos.sh | sudo sh -s -- --server ${url}`,
    windows: `$f = "$env:TEMP\\postern-install.ps1"; Invoke-WebRequest -UseBasicParsing ${url}/install/windows.ps1 -OutFile $f; powershell.exe -ExecutionPolicy Bypass -File $f -Server ${url}`,
  };
}
