import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../http/http-error.js';
import { artefactName, openArtefact } from './artefacts.js';
import { installLines } from './lines.js';
import { INSTALL_ROOT } from './paths.js';
import { INSTALL_SCRIPTS, installScript, type InstallScript } from './scripts.js';

describe('the served install scripts', () => {
  it.each(Object.keys(INSTALL_SCRIPTS) as InstallScript[])('%s defaults to this server and is otherwise the shipped file', async (name) => {
    const shipped = await readFile(join(INSTALL_ROOT, INSTALL_SCRIPTS[name].file), 'utf8');
    const served = await installScript(name, 'https://postern.example.com:8443/base/');
    expect(served).not.toBe(shipped);
    expect(served).toContain("'https://postern.example.com:8443/base'");
    // Exactly the default's line differs.
    const changed = served.split('\n').filter((line, i) => line !== shipped.split('\n')[i]);
    expect(changed).toHaveLength(1);
  });

  it('leaves the default empty for a URL a shell could read as more than a string', async () => {
    for (const url of ["https://x.example/'; rm -rf / #", 'https://x.example/$(id)', 'https://x.example/`id`', 'file:///etc/passwd', 'https://x.example/a b']) {
      const served = await installScript('linux.sh', url);
      expect(served).toMatch(/^DEFAULT_SERVER=''$/m);
      expect(served).not.toContain(url);
    }
  });
});

describe('the one-line install', () => {
  it('names the script and the server, and carries no token', () => {
    const lines = installLines('https://postern.example.com/');
    expect(lines.linux).toBe('curl -fsSL https://postern.example.com/install/linux.sh | sudo sh -s -- --server https://postern.example.com');
    expect(lines.macos).toBe('curl -fsSL https://postern.example.com/install/macos.sh | sudo sh -s -- --server https://postern.example.com');
    expect(lines.windows).toContain('https://postern.example.com/install/windows.ps1');
    expect(lines.windows).toMatch(/-Server https:\/\/postern\.example\.com$/);
  });

  it('refuses a URL that would change the pasted command', () => {
    for (const url of ['https://x.example/;id', 'https://x.example/$(id)', 'https://x.example/a|b', 'ftp://x.example', 'postern.example.com']) {
      expect(() => installLines(url), url).toThrow(/public http\(s\) URL/);
    }
  });
});

describe('artefacts', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-artefacts-'));
    await writeFile(join(dir, 'SHA256SUMS'), 'sums\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts plain file names only', () => {
    for (const name of ['SHA256SUMS', 'postern-agent_0.1.0_amd64.deb', 'postern-agent-0.2.0~rc1-linux-arm64.tar.gz', 'postern-agent-0.1.0+b1-windows-x64.exe']) expect(artefactName.safeParse(name).success, name).toBe(true);
    for (const name of ['', '.hidden', '../etc/passwd', 'a/b', 'a\\b', '-rf', 'x'.repeat(201), 'a b']) expect(artefactName.safeParse(name).success, name).toBe(false);
  });

  it('opens a file of the directory, and says what to do about a missing one', async () => {
    const { size, stream } = await openArtefact(dir, 'SHA256SUMS');
    expect(size).toBe(5);
    stream.destroy();
    const missing = await openArtefact(dir, 'postern-agent_9.9.9_amd64.deb').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(HttpError);
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
    expect((missing as Error).message).toContain(dir);
    expect((missing as Error).message).toContain('pnpm package');
  });

  it('does not serve a directory as an artefact', async () => {
    await expect(openArtefact(tmpdir(), dir.split('/').pop() ?? '')).rejects.toMatchObject({ code: 'not_found' });
  });
});
