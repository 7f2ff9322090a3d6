import { createCollector, postureChanged } from '../collectors/collect.js';
import { recordedProbeContext, recordingProbeContext, type ProbeContext } from '../collectors/probe.js';
import { AGENT_VERSION } from '../version.js';
import { buildBundle, recordingFromBundle, type DiagBundle } from './bundle.js';

/**
 * Collects the posture once through a recording context, and packs every answer into
 * a bundle. The redacted answers are replayed before the bundle is handed out, so the
 * bundle says whether support will see the same posture.
 */
export async function diagnose(live: ProbeContext, createdAt = new Date()): Promise<DiagBundle> {
  const { ctx, recording, calls } = recordingProbeContext(live);
  const posture = await createCollector({ ctx }).collect();
  const bundle = buildBundle({ recording: recording(), calls: calls(), posture, agentVersion: AGENT_VERSION, createdAt });
  const replayed = await replayBundle(bundle);
  return { ...bundle, replay_matches: !postureChanged(posture, replayed) };
}

/** The posture a bundle's answers give, computed here by the same probe code. */
export function replayBundle(bundle: DiagBundle) {
  return createCollector({ ctx: recordedProbeContext(recordingFromBundle(bundle)) }).collect();
}
