import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { posture } from '@postern/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { macBook, windowsLaptop } from '../../fixtures/devices.js';
import { collectCommand } from '../cli/commands/collect.js';
import { diagCommand } from '../cli/commands/diag.js';
import { postureChanged } from '../collectors/collect.js';
import { recordedProbeContext } from '../collectors/probe.js';
import { BUNDLE_FORMAT, parseBundle } from './bundle.js';
import { diagnose, replayBundle } from './diagnose.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'postern-diag-'));

/** What a command printed on stdout. */
async function stdoutOf(run: () => Promise<void>): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('diagnostic bundle', () => {
  it("records every command a Windows laptop's probes ran, with exit code and output, and replays to the same posture here", async () => {
    const bundle = parseBundle(JSON.stringify(await diagnose(recordedProbeContext(windowsLaptop()))));
    expect(bundle).toMatchObject({ format: BUNDLE_FORMAT, version: 1, device: { platform: 'win32', is_privileged: true }, replay_matches: true });
    const bitlocker = bundle.probes.find((p) => p.kind === 'exec' && p.args.some((a) => a.includes('Get-BitLockerVolume')));
    expect(bitlocker).toMatchObject({ kind: 'exec', command: 'powershell.exe', exit_code: 0, failure: null });
    // Probes that Windows does not have answer "not found", and are recorded as such.
    expect(bundle.probes).toContainEqual(expect.objectContaining({ kind: 'exec', command: 'reg', failure: 'not_found', exit_code: null }));
    const replayed = await replayBundle(bundle);
    expect(postureChanged(replayed, posture.parse(bundle.posture))).toBe(false);
  });

  it('redacts secrets before they leave the device: the recovery password in a BitLocker answer', async () => {
    const bundle = await diagnose(recordedProbeContext(windowsLaptop()));
    expect(JSON.stringify(bundle)).not.toContain('254793-568007-425557');
    expect(bundle.redactions).toBeGreaterThan(0);
    expect(bundle.replay_matches).toBe(true);
  });

  it('refuses a file that is not a bundle, saying why', () => {
    expect(() => parseBundle('{"format":"something-else"}')).toThrow(/^not a diagnostic bundle \(format postern-diag version 1\): format:/);
    expect(() => parseBundle('nope')).toThrow('not a diagnostic bundle: the file is not JSON');
  });

  it('`collect --json --replay FILE` prints the posture the bundle gives', async () => {
    const dir = tmp();
    const file = join(dir, 'mac.json');
    const bundle = await diagnose(recordedProbeContext(macBook()));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, JSON.stringify(bundle));
    const printed = JSON.parse(await stdoutOf(() => collectCommand({ json: true, replay: file }))) as unknown;
    expect(printed).toEqual(bundle.posture);
  });

  it.runIf(process.platform === 'linux')(
    '`diag --out FILE` on this machine writes a bundle only its owner can read, which replays to the same posture',
    async () => {
      const file = join(tmp(), 'this-machine.json');
      const said = await stdoutOf(() => diagCommand({ out: file }));
      expect(said).toMatch(/^Wrote .*this-machine\.json: \d+ commands and \d+ files, \d+ values? redacted\./);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const bundle = parseBundle(readFileSync(file, 'utf8'));
      expect(bundle.replay_matches).toBe(true);
      const replayed = JSON.parse(await stdoutOf(() => collectCommand({ json: true, replay: file }))) as Parameters<typeof postureChanged>[0];
      expect(postureChanged(replayed, posture.parse(bundle.posture))).toBe(false);
    },
    60_000,
  );
});
