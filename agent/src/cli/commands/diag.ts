import { writeFileAtomic } from '../../state/atomic-write.js';
import { AgentError } from '../../errors.js';
import { summarizePosture } from '../format-posture.js';

export async function diagCommand(opts: { out?: string }): Promise<void> {
  if (!opts.out) throw new AgentError('usage', 'diag needs --out FILE: where to write the bundle');
  const [{ diagnose }, { liveProbeContext }] = await Promise.all([import('../../diag/diagnose.js'), import('../../collectors/probe.js')]);
  const bundle = await diagnose(liveProbeContext());
  try {
    // The bundle describes this device in detail: readable by its owner only.
    await writeFileAtomic(opts.out, `${JSON.stringify(bundle, null, 2)}\n`, 0o600);
  } catch (err) {
    throw new AgentError('diag_write', `cannot write ${opts.out}: ${(err as Error).message}`, { cause: err });
  }
  const execs = bundle.probes.filter((p) => p.kind === 'exec').length;
  process.stdout.write(
    `Wrote ${opts.out}: ${execs} commands and ${bundle.probes.length - execs} files, ${bundle.redactions} value${bundle.redactions === 1 ? '' : 's'} redacted.\n` +
      `${summarizePosture(bundle.posture as never).join('\n')}\n` +
      (bundle.replay_matches
        ? `Replay it anywhere with: postern-agent collect --json --replay ${opts.out}\n`
        : 'Warning: replaying the redacted bundle gives a different posture; a redacted value mattered.\n'),
  );
}
