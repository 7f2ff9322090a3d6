import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { DiffReport } from '../../policy-lifecycle/dry-run.js';
import { catalog } from '../../policy/catalog.js';
import { formatProblem, parsePolicySource, type PolicyProblem } from '../../policy/document.js';
import type { VersionSummary } from '../../policy-lifecycle/versions.js';
import { AdminCommandError, adminRequest } from '../admin-client.js';
import { adminTarget, CommandFailed, dataOption, defaultAuthor, isoTime, jsonOption, print, printTable, serverOption, textUpTo, wholeNumber, type AdminFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';

async function readSource(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AdminCommandError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

interface ApplyAnswer {
  group: string;
  version: number;
  policy: string;
  previous: string | null;
  reevaluation: { devices: number; changed: number; transitions: Record<string, number>; skipped: number; ms: number };
}

function transitions(t: Record<string, number>): string {
  const parts = Object.entries(t).map(([k, n]) => `${k} ${n}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

export function registerPolicy(program: Command): void {
  const policy = program.command('policy').description('policies: validate, dry run, apply, history, show, roll back (docs/policy.md)');

  policy
    .command('validate <file>')
    .description('check a policy document (YAML or JSON) without a server: every mistake with file, line and path')
    .addOption(jsonOption())
    .action(async (file: string, flags: { json?: boolean }) => {
      const parsed = parsePolicySource(await readSource(file), file);
      if (flags.json) {
        print(parsed.ok ? { valid: true, problems: [], group: parsed.document.group ?? null, checks: parsed.document.checks.map((c) => c.id) } : { valid: false, problems: parsed.problems });
        if (!parsed.ok) process.exitCode = 1;
        return;
      }
      if (!parsed.ok) throw new CommandFailed(`${file} is not a valid policy:\n${parsed.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
      process.stdout.write(`${file}: valid policy with ${parsed.document.checks.length} checks${parsed.document.group ? ` for group ${parsed.document.group}` : ''}\n`);
    });

  policy
    .command('diff <file>')
    .description('dry run: which devices would change verdict, and why, if this policy were applied (nothing is written)')
    .option('--group <group>', "the group it would apply to (default: the document's `group`)")
    .option('--limit <n>', 'list at most this many devices: 1 to 100000', wholeNumber(1, 100_000), 1000)
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (file: string, flags: AdminFlags & { group?: string; limit: number }) => {
      const body = { source: await readSource(file), filename: basename(file), ...(flags.group ? { group: flags.group } : {}), limit: flags.limit };
      const report = await adminRequest<DiffReport>(await adminTarget(flags), 'POST', '/v1/admin/policies/diff', body);
      if (flags.json) return print(report);
      process.stdout.write(
        `${report.policy_to} (now ${report.policy_from.join(', ') || 'no device reported yet'}): ${report.devices} device(s) judged, ${report.changed} would change verdict${transitions(report.transitions)}\n`,
      );
      if (report.differences.length === 0) return;
      const rows = report.differences.map((d) => [
        d.device_id,
        d.hostname,
        d.group,
        d.from === d.to ? d.to : `${d.from} → ${d.to}`,
        `${d.score_from} → ${d.score_to}`,
        d.checks.map((c) => `${c.id} ${c.from}→${c.to}${c.to === 'fail' ? `: ${c.message}` : ''}`).join('; '),
      ]);
      printTable(['DEVICE', 'HOSTNAME', 'GROUP', 'VERDICT', 'SCORE', 'WHY'], rows);
      if (report.truncated) process.stdout.write(`(more devices differ: raise --limit or use --json)\n`);
    });

  policy
    .command('apply <file>')
    .description('store the document as a new version, make it active, and re-evaluate every device it judges at once')
    .requiredOption('-m, --message <text>', 'why: recorded with the version and in the audit log (up to 2000 characters)', textUpTo(2000))
    .option('--group <group>', "the group it applies to (default: the document's `group`; `default` means every group without its own)")
    .option('--author <name>', 'who wrote it, up to 200 characters (default: your user name)', textUpTo(200))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (file: string, flags: AdminFlags & { message: string; group?: string; author?: string }) => {
      const source = await readSource(file);
      const local = parsePolicySource(source, file);
      if (!local.ok) throw new CommandFailed(`${file} is not a valid policy:\n${local.problems.map((p: PolicyProblem) => `  ${formatProblem(p)}`).join('\n')}`);
      const body = { source, filename: basename(file), message: flags.message, author: flags.author ?? defaultAuthor(), ...(flags.group ? { group: flags.group } : {}) };
      const result = await adminRequest<ApplyAnswer>(await adminTarget(flags), 'POST', '/v1/admin/policies', body);
      if (flags.json) return print(result);
      const r = result.reevaluation;
      process.stdout.write(`applied ${result.policy}${result.previous ? ` (was ${result.previous})` : ''}: ${r.devices} device(s) re-evaluated in ${r.ms} ms, ${r.changed} changed verdict${transitions(r.transitions)}\n`);
    });

  policy
    .command('rollback <version>')
    .description("apply an old version's document again, as a new version")
    .requiredOption('--group <group>', 'the group whose version to restore')
    .requiredOption('-m, --message <text>', 'why (up to 2000 characters)', textUpTo(2000))
    .option('--author <name>', 'who, up to 200 characters (default: your user name)', textUpTo(200))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (version: string, flags: AdminFlags & { group: string; message: string; author?: string }) => {
      const n = Number(version);
      if (!/^\d+$/.test(version) || n < 1) throw new CommandFailed(`the version must be a whole number of at least 1 (see \`policy history\`), not "${version}"`, EXIT.usage);
      const result = await adminRequest<ApplyAnswer>(await adminTarget(flags), 'POST', `/v1/admin/policies/${encodeURIComponent(flags.group)}/rollback`, { version: n, message: flags.message, author: flags.author ?? defaultAuthor() });
      if (flags.json) return print(result);
      process.stdout.write(`applied ${result.policy} (the document of version ${n}): ${result.reevaluation.devices} device(s) re-evaluated, ${result.reevaluation.changed} changed verdict${transitions(result.reevaluation.transitions)}\n`);
    });

  policy
    .command('history')
    .description('every policy version, newest first, with author, time and message')
    .option('--group <group>', 'only this group')
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { group?: string }) => {
      const result = await adminRequest<{ versions: VersionSummary[] }>(await adminTarget(flags), 'GET', `/v1/admin/policies${flags.group ? `?group=${encodeURIComponent(flags.group)}` : ''}`);
      if (flags.json) return print(result);
      printTable(
        ['POLICY', 'ACTIVE', 'CREATED', 'AUTHOR', 'MESSAGE'],
        result.versions.map((v) => [v.policy, v.active ? 'yes' : '', isoTime(v.created_at), v.author, v.message]),
      );
    });

  policy
    .command('show')
    .description("print a group's active policy document (or --version N), as it was written")
    .option('--group <group>', 'the group', 'default')
    .option('--version <n>', 'this version instead of the active one (1 or more)', wholeNumber(1, Number.MAX_SAFE_INTEGER))
    .addOption(jsonOption())
    .addOption(dataOption())
    .addOption(serverOption())
    .action(async (flags: AdminFlags & { group: string; version?: number }) => {
      const query = flags.version ? `?version=${flags.version}` : '';
      const result = await adminRequest<{ policy: string; active: boolean; author: string; created_at: number; message: string; source: string }>(
        await adminTarget(flags),
        'GET',
        `/v1/admin/policies/${encodeURIComponent(flags.group)}${query}`,
      );
      if (flags.json) return print(result);
      process.stderr.write(`# ${result.policy}${result.active ? ' (active)' : ''}, by ${result.author} at ${isoTime(result.created_at)}: ${result.message}\n`);
      process.stdout.write(result.source.endsWith('\n') ? result.source : `${result.source}\n`);
    });

  policy
    .command('catalog')
    .description('the checks a policy can name, with their parameters and failing states')
    .addOption(jsonOption())
    .action((flags: { json?: boolean }) => {
      const checks = [...catalog.values()].map((c) => ({ id: c.id, section: c.section, judges: c.summary, states: c.reasons }));
      if (flags.json) return print({ checks });
      printTable(['CHECK', 'SECTION', 'FAILING STATES', 'PASSES WHEN'], checks.map((c) => [c.id, c.section, c.states.join(', '), c.judges]));
    });
}
