import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evidenceClaims, posture as postureSchema, type Platform, type Posture, type Verdict } from '@postern/shared';
import { collectedAt, fakePosture, type PostureFailure } from '@postern/testkit/postures';
import { defaultPolicy } from './default-policy.js';
import { evaluatePosture, verdictAt } from './evaluate.js';

const NOW = 1_800_000_000;
/** What a verdict lets a device do: pass (compliant), pass for now (grace), or nothing. */
const RANK: Record<Verdict, number> = { compliant: 2, grace: 1, unknown: 0, pending: 0, noncompliant: 0, revoked: 0 };

function judged(p: Posture, enrolledPlatform: Platform, attestedAt = NOW) {
  const { checks, score } = evaluatePosture(defaultPolicy, p, { now: attestedAt, attestedAt, enrolledPlatform });
  return { score, verdict: verdictAt(defaultPolicy, { status: 'active', expires_at: null }, { attested_at: attestedAt, checks }, attestedAt) };
}

const claimsOf = (p: Posture, iat = NOW) => ({
  eat_profile: 'urn:postern:evidence:1',
  iat,
  eat_nonce: 'n'.repeat(43),
  ueid: 'A'.repeat(23),
  swname: 'postern-agent',
  swversion: ['0.1.0'],
  device_id: '00000000-0000-4000-8000-000000000001',
  seq: 1,
  posture: p,
});

/** Ways a report can contradict itself or the device: each either refused by the schema, or judged no better than the honest report. */
type Contradiction = (p: Posture, platform: Platform) => Posture;
const contradictions: Record<string, Contradiction> = {
  'a firewall on with no backend': (p) => ({ ...p, firewall: { status: 'ok', collected_at: p.firewall.collected_at, enabled: true, backend: 'none', profiles: [] } }),
  'a firewall on while every profile is off': (p) => ({ ...p, firewall: { status: 'ok', collected_at: p.firewall.collected_at, enabled: true, backend: 'windows', profiles: [{ name: 'Domain', enabled: false }, { name: 'Public', enabled: false }] } }),
  'a volume encrypted while 3% converted': (p) => withSystemVolume(p, { encrypted: true, state: 'encrypting', progress: 3 }),
  'a volume encrypted only by its hardware': (p) => withSystemVolume(p, { encrypted: true, state: 'on', detail: 'hardware_only' }),
  'two system volumes': (p) =>
    p.disk_encryption.status === 'ok' ? { ...p, disk_encryption: { ...p.disk_encryption, volumes: [...p.disk_encryption.volumes, { mount: '/other', encrypted: true, method: 'luks2', state: 'on', system: true }] } } : p,
  'a posture from another platform than enrolled': (_p, platform) => fakePosture({ platform: platform === 'linux' ? 'darwin' : 'linux', now: NOW }),
  'sections collected a day before the report': (p) => collectedAt(p, NOW - 86_400),
  'facts collected at time 0': (p) => collectedAt(p, 0),
  'facts collected an hour after the report': (p) => collectedAt(p, NOW + 3600),
  'updates installed in the future': (p) => (p.patches.status === 'ok' ? { ...p, patches: { ...p.patches, last_installed_at: NOW + 86_400 } } : p),
};

function withSystemVolume(p: Posture, change: Partial<Extract<Posture['disk_encryption'], { status: 'ok' }>['volumes'][number]>): Posture {
  if (p.disk_encryption.status !== 'ok') return p;
  return { ...p, disk_encryption: { ...p.disk_encryption, volumes: p.disk_encryption.volumes.map((v) => (v.system ? { ...v, ...change } : v)) } };
}

describe('a report that contradicts itself', () => {
  it.each([
    ['a firewall on with no backend', /firewall\.backend: a firewall cannot be enabled with no firewall backend/],
    ['a firewall on while every profile is off', /firewall\.enabled: a firewall cannot be enabled while every one of its profiles is off/],
    ['a volume encrypted while 3% converted', /volumes\.\d+\.progress: a volume cannot be encrypted while its conversion is 3% done/],
    ['a volume encrypted only by its hardware', /volumes\.\d+\.detail: a volume encrypted only by its hardware is not encrypted/],
    ['two system volumes', /disk_encryption\.volumes: a device has one system volume/],
  ])('is refused by the schema: %s', (name, message) => {
    const bad = (contradictions[name] as Contradiction)(fakePosture({ platform: 'linux', now: NOW }), 'linux');
    const parsed = postureSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(message);
  });

  it.each([
    ['facts collected at time 0', /posture\.os\.collected_at: os\.collected_at \(0\) is before 2020/],
    ['facts collected an hour after the report', /posture\.os\.collected_at: .* is after the report was signed/],
    ['updates installed in the future', /posture\.patches\.last_installed_at: .* is after the report was signed/],
  ])('is refused by the claims schema: %s', (name, message) => {
    const parsed = evidenceClaims.safeParse(claimsOf((contradictions[name] as Contradiction)(fakePosture({ platform: 'linux', now: NOW }), 'linux')));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(message);
  });

  it('is judged unknown, never passing, when it is doubtful: facts a day old, or from another platform', () => {
    const honest = fakePosture({ platform: 'linux', now: NOW });
    for (const name of ['sections collected a day before the report', 'a posture from another platform than enrolled']) {
      const doubtful = (contradictions[name] as Contradiction)(honest, 'linux');
      expect(evidenceClaims.safeParse(claimsOf(doubtful)).success).toBe(true);
      expect(judged(doubtful, 'linux')).toMatchObject({ verdict: 'unknown' });
    }
  });

  it('never raises the score or the verdict: for random devices and any contradiction (property)', () => {
    const platforms: Platform[] = ['linux', 'darwin', 'win32'];
    const failures: PostureFailure[] = ['disk_encryption', 'firewall', 'patches'];
    fc.assert(
      fc.property(fc.constantFrom(...platforms), fc.subarray(failures), fc.constantFrom(...Object.keys(contradictions)), (platform, failing, name) => {
        const honest = fakePosture({ platform, now: NOW, failing });
        const bad = (contradictions[name] as Contradiction)(honest, platform);
        // Refused at the edge: the device gets no verdict from it at all.
        if (!evidenceClaims.safeParse(claimsOf(bad)).success) return;
        const before = judged(honest, platform);
        const after = judged(bad, platform);
        expect(after.score).toBeLessThanOrEqual(before.score);
        expect(RANK[after.verdict]).toBeLessThanOrEqual(RANK[before.verdict]);
      }),
      { numRuns: 300 },
    );
  });
});
