import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_PATH, defaultPolicy } from './default-policy.js';
import { compilePolicy, documentFromStored, formatProblem, parsePolicySource, PolicyInvalid } from './document.js';

function problems(source: string, file = 'p.yaml') {
  const parsed = parsePolicySource(source, file);
  if (parsed.ok) throw new Error('expected problems');
  return parsed.problems;
}

const minimal = `postern_policy: 1
group: contractors
checks:
  - id: firewall.enabled
    severity: high
    weight: 10
    enforcement: block
`;

describe('a policy document', () => {
  it('is read from YAML with defaults filled in', () => {
    const parsed = parsePolicySource(minimal, 'p.yaml');
    expect(parsed).toMatchObject({ ok: true, format: 'yaml', document: { group: 'contractors', report_interval: 300, on_unknown: 'unknown', checks: [{ id: 'firewall.enabled', params: {}, remediation: {} }] } });
  });

  it('is read from JSON just the same, with line numbers', () => {
    const json = JSON.stringify({ postern_policy: 1, checks: [{ id: 'patches.max_pending_security', severity: 'high', weight: 5, enforcement: 'warn_then_block', grace: '3d', params: { max: 2 } }] }, null, 2);
    const parsed = parsePolicySource(json, 'p.json');
    expect(parsed).toMatchObject({ ok: true, format: 'json', document: { checks: [{ grace: 259200, params: { max: 2 } }] } });
    const bad = problems(json.replace('"max": 2', '"max": -1'), 'p.json');
    expect(bad).toEqual([expect.objectContaining({ file: 'p.json', line: 11, path: 'checks[0].params.max' })]);
  });

  it('names file, line, column, path and what was expected for every mistake', () => {
    const source = `postern_policy: 1
checks:
  - id: firewall.enabled
    severity: urgent
    weight: ten
    enforcement: block
    colour: blue
  - id: disk.encrypted
    severity: high
    weight: 1
    enforcement: block
`;
    const found = problems(source);
    expect(found.map((p) => [p.line, p.path])).toEqual(
      expect.arrayContaining([
        [4, 'checks[0].severity'],
        [5, 'checks[0].weight'],
        [7, 'checks[0].colour'],
        [8, 'checks[1].id'],
      ]),
    );
    expect(found.find((p) => p.path === 'checks[0].colour')?.message).toBe('unknown field "colour"');
    expect(found.find((p) => p.path === 'checks[1].id')?.message).toMatch(/unknown check "disk.encrypted"; the catalog has os.min_version/);
    expect(formatProblem(found[0]!)).toMatch(/^p\.yaml:\d+:\d+: checks\[0\]\.\w+: /);
  });

  it('needs a grace period exactly when the enforcement is warn_then_block', () => {
    const noGrace = problems(minimal.replace('enforcement: block', 'enforcement: warn_then_block'));
    expect(noGrace).toEqual([expect.objectContaining({ line: 7, path: 'checks[0].enforcement', message: expect.stringMatching(/needs a grace period/) })]);
    const stray = problems(minimal.replace('enforcement: block', 'enforcement: block\n    grace: 7d'));
    expect(stray).toEqual([expect.objectContaining({ line: 8, path: 'checks[0].grace' })]);
    expect(problems(minimal.replace('enforcement: block', 'enforcement: warn_then_block\n    grace: soon'))[0]?.message).toMatch(/expected a duration such as 15m/);
  });

  it("checks each check's parameters against the catalog, even when another field is wrong too", () => {
    const source = minimal.replace('firewall.enabled', 'screen_lock.max_idle_minutes').replace('severity: high', 'severity: severe').replace('enforcement: block', 'enforcement: block\n    params:\n      max: "ten"\n      lock: true');
    const found = problems(source);
    expect(found.map((p) => p.path)).toEqual(expect.arrayContaining(['checks[0].severity', 'checks[0].params.max', 'checks[0].params.lock']));
    expect(found.find((p) => p.path === 'checks[0].params.max')).toMatchObject({ line: 9 });
    const alone = problems(minimal.replace('enforcement: block', 'enforcement: block\n    params:\n      lock: true'));
    expect(alone).toEqual([expect.objectContaining({ line: 9, path: 'checks[0].params.lock', message: 'unknown field "lock" (firewall.enabled)' })]);
  });

  it('refuses a check listed twice, a missing format marker, remediation for a state the check does not have, and YAML syntax errors', () => {
    expect(problems(minimal + minimal.slice(minimal.indexOf('  - id'))).map((p) => p.path)).toContain('checks[1].id');
    expect(problems(minimal.replace('postern_policy: 1\n', ''))[0]).toMatchObject({ line: 1, path: 'postern_policy', message: expect.stringMatching(/postern_policy: 1/) });
    expect(problems(minimal + '    remediation:\n      linux:\n        melting: "cool it"\n')[0]).toMatchObject({ line: 10, path: 'checks[0].remediation.linux.melting', message: expect.stringMatching(/no state "melting"/) });
    expect(problems('postern_policy: 1\nchecks: [\n')[0]).toMatchObject({ path: '', line: expect.any(Number) });
    expect(problems('a: 1\na: 2\n')[0]?.message).toMatch(/unique/i);
  });

  it('refuses a source larger than 64 KiB', () => {
    expect(problems(`# ${'x'.repeat(70 * 1024)}\n`)[0]?.message).toMatch(/larger than 65536 bytes/);
  });

  it('takes the maximum report age from report.max_age, and 15 minutes without it', () => {
    const withAge = parsePolicySource(minimal + '  - id: report.max_age\n    severity: low\n    weight: 0\n    enforcement: notify\n    params: {max_age: 10m}\n', 'p.yaml');
    if (!withAge.ok) throw new Error(JSON.stringify(withAge.problems));
    expect(compilePolicy(withAge.document, 'contractors', 2)).toMatchObject({ id: 'contractors', version: 2, max_age_s: 600 });
    const without = parsePolicySource(minimal, 'p.yaml');
    if (!without.ok) throw new Error('fixture');
    expect(compilePolicy(without.document, 'contractors', 1).max_age_s).toBe(900);
  });

  it('takes minimum versions only as dotted numbers in text, and "any" only per Linux distribution', () => {
    const osMin = (params: string) => minimal.replace('firewall.enabled', 'os.min_version').replace('enforcement: block', `enforcement: block\n    params:\n${params}`);
    expect(problems(osMin('      darwin: Sonoma'))).toEqual([
      expect.objectContaining({ line: 9, path: 'checks[0].params.darwin', message: 'expected a version of dotted numbers such as 14.0 or 0.2.0, not "Sonoma" (os.min_version)' }),
    ]);
    expect(problems(osMin('      darwin: 14.10'))[0]).toMatchObject({ path: 'checks[0].params.darwin', message: expect.stringMatching(/quoted text, such as "14\.0", not 14\.1/) });
    expect(problems(osMin('      darwin: any'))[0]).toMatchObject({ path: 'checks[0].params.darwin', message: expect.stringMatching(/not "any"/) });
    expect(problems(osMin('      linux: { ubuntu: jammy, arch: any }'))).toEqual([expect.objectContaining({ path: 'checks[0].params.linux.ubuntu', message: expect.stringMatching(/such as 22\.04, or "any", not "jammy"/) })]);
    expect(parsePolicySource(osMin('      linux: { ubuntu: "22.04", arch: any }\n      darwin: "14"'), 'p.yaml').ok).toBe(true);
    const agent = minimal.replace('firewall.enabled', 'agent.min_version').replace('enforcement: block', 'enforcement: block\n    params: { min: latest }');
    expect(problems(agent)).toEqual([expect.objectContaining({ path: 'checks[0].params.min', message: expect.stringMatching(/dotted numbers such as 14\.0 or 0\.2\.0, not "latest"/) })]);
  });

  it('refuses a maximum report age of 0, or shorter than the report interval, naming both fields', () => {
    const withAge = (maxAge: string, interval = '') => minimal.replace('checks:', `${interval}checks:`) + `  - id: report.max_age\n    severity: low\n    weight: 0\n    enforcement: notify\n    params: {max_age: ${maxAge}}\n`;
    expect(problems(withAge('0'))).toEqual([expect.objectContaining({ path: 'checks[1].params.max_age', message: expect.stringMatching(/more than 0/) })]);
    expect(problems(withAge('2m'))).toEqual([
      expect.objectContaining({ line: 12, path: 'checks[1].params.max_age', message: expect.stringMatching(/max_age \(120s\) must be at least report_interval \(300s\)/) }),
    ]);
    expect(parsePolicySource(withAge('2m', 'report_interval: 1m\n'), 'p.yaml').ok).toBe(true);
    expect(parsePolicySource(withAge('5m'), 'p.yaml').ok).toBe(true);
  });

  it('refuses a report interval longer than the default maximum age when the policy does not set one', () => {
    expect(problems(minimal.replace('checks:', 'report_interval: 20m\nchecks:'))).toEqual([
      expect.objectContaining({ line: 3, path: 'report_interval', message: expect.stringMatching(/report_interval \(1200s\) is longer than the default max_age .*\(900s\)/) }),
    ]);
    expect(parsePolicySource(minimal.replace('checks:', 'report_interval: 15m\nchecks:'), 'p.yaml').ok).toBe(true);
  });

  it('names the policy and what to do when a stored document no longer validates', () => {
    const stored = { postern_policy: 1, checks: [{ id: 'os.min_version', severity: 'high', weight: 1, enforcement: 'block', params: { darwin: 'Sonoma' } }] };
    let error: unknown;
    try {
      documentFromStored(stored, 'contractors@3');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyInvalid);
    expect((error as PolicyInvalid).message).toMatch(/^the stored policy contractors@3 is no longer valid on this server: checks\[0\]\.params\.darwin: .*Sonoma.*Roll back the group to a valid version, or apply a corrected document$/);
    expect((error as PolicyInvalid).problems[0]).toMatchObject({ file: 'contractors@3 (stored)', path: 'checks[0].params.darwin' });
  });
});

describe('the shipped default policy', () => {
  it('is a valid document with the four default checks, weights and enforcement', () => {
    expect(parsePolicySource(readFileSync(DEFAULT_POLICY_PATH, 'utf8'), 'default.yaml').ok).toBe(true);
    expect(defaultPolicy).toMatchObject({ id: 'default', version: 1, max_age_s: 900, report_interval_s: 300 });
    expect(defaultPolicy.checks.map((c) => [c.id, c.severity, c.weight, c.enforcement, c.grace_s])).toEqual([
      ['os.min_version', 'high', 25, 'block', undefined],
      ['disk_encryption.system_volume', 'critical', 30, 'block', undefined],
      ['firewall.enabled', 'high', 25, 'block', undefined],
      ['patches.max_pending_security', 'high', 20, 'warn_then_block', 7 * 86400],
    ]);
  });
});
