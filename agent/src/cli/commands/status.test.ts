import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeEnrollment } from '../../testenv/fake-enrollment.js';
import { ExitCode } from '../exit-codes.js';
import { statusCommand } from './status.js';

describe('postern-agent status', () => {
  let dir: string;
  let out: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-status-'));
    out = '';
    process.exitCode = undefined;
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const enrolled = async (status: 'active' | 'revoked') => {
    const { store } = await fakeEnrollment(dir, { status });
    const now = Math.floor(Date.now() / 1000);
    await store.writeLastResult({ version: 1, seq: 4, verdict: 'compliant', score: 100, checks: [], token: 'e30.e30.sig', received_at: now });
  };

  it('shows the last verdict of an active device', async () => {
    await enrolled('active');
    await statusCommand({ state: dir });
    expect(out).toMatch(/^Result {4}verdict compliant/m);
    expect(out).toMatch(/All checks pass\./);
  });

  it('says a revoked device is revoked and what to do, not its last cached verdict', async () => {
    await enrolled('revoked');
    await statusCommand({ state: dir });
    expect(out).toMatch(/revoked/);
    expect(out).toMatch(/postern-agent enroll --force/);
    expect(out).not.toMatch(/compliant/);
    expect(out).not.toMatch(/^Result/m);
    expect(process.exitCode).toBe(ExitCode.revoked);
  });

  it('leaves the cached verdict out of the JSON of a revoked device', async () => {
    await enrolled('revoked');
    await statusCommand({ state: dir, json: true });
    const doc = JSON.parse(out) as { device: { status: string }; last_result: unknown };
    expect(doc.device.status).toBe('revoked');
    expect(doc.last_result).toBeNull();
    expect(process.exitCode).toBe(ExitCode.revoked);
  });
});
