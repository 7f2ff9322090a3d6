import { platform, type Posture } from '@postern/shared';
import { z } from 'zod';
import { commandLine, type ProbeCall, type ProbeRecording } from '../collectors/probe.js';
import { redact } from './redact.js';

/**
 * A diagnostic bundle: every question the probes asked of one device (command, exit
 * code, stdout, stderr, timing; file contents), with secrets and serial numbers
 * redacted, and the posture computed from the answers. `collect --replay` recomputes
 * the posture from it on any machine, through the same probe code.
 */
export const BUNDLE_FORMAT = 'postern-diag';
export const BUNDLE_VERSION = 1;

const execEntry = z.object({
  kind: z.literal('exec'),
  command: z.string(),
  args: z.array(z.string()),
  exit_code: z.number().int().nullable(),
  failure: z.enum(['not_found', 'timeout', 'spawn_error']).nullable(),
  duration_ms: z.number().nonnegative().optional(),
  stdout: z.string(),
  stderr: z.string(),
});
const fileEntry = z.object({
  kind: z.literal('file'),
  path: z.string(),
  content: z.string().nullable(),
  duration_ms: z.number().nonnegative().optional(),
});

export const diagBundle = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  created_at: z.string(),
  agent_version: z.string(),
  node_version: z.string(),
  device: z.object({
    platform,
    arch: z.string(),
    kernel: z.string(),
    is_privileged: z.boolean(),
    time_zone: z.string(),
    /** The collection's clock, ms since the epoch: a replay reads the same time. */
    now: z.number(),
  }),
  probes: z.array(z.discriminatedUnion('kind', [execEntry, fileEntry])),
  /** The posture as collected on the device. */
  posture: z.record(z.string(), z.unknown()),
  /** How many values were redacted. */
  redactions: z.number().int().nonnegative(),
  /** Whether the redacted answers replay to the same posture (they should). */
  replay_matches: z.boolean().optional(),
});
export type DiagBundle = z.infer<typeof diagBundle>;

export interface BundleSource {
  recording: ProbeRecording;
  calls: ProbeCall[];
  posture: Posture;
  agentVersion: string;
  createdAt: Date;
}

export function buildBundle(source: BundleSource): DiagBundle {
  const { recording, calls } = source;
  let redactions = 0;
  const clean = (text: string) => {
    const r = redact(text);
    redactions += r.count;
    return r.text;
  };
  const probes: DiagBundle['probes'] = calls.map((call) =>
    call.kind === 'exec'
      ? {
          kind: 'exec' as const,
          command: call.command,
          args: call.args,
          exit_code: call.result.code,
          failure: call.result.failure ?? null,
          duration_ms: call.durationMs,
          stdout: clean(call.result.stdout),
          stderr: clean(call.result.stderr),
        }
      : { kind: 'file' as const, path: call.path, content: call.content === null ? null : clean(call.content), duration_ms: call.durationMs },
  );
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    created_at: source.createdAt.toISOString(),
    agent_version: source.agentVersion,
    node_version: process.version,
    device: {
      platform: recording.platform ?? 'linux',
      arch: recording.arch ?? 'unknown',
      kernel: recording.kernel ?? 'unknown',
      is_privileged: recording.isPrivileged ?? false,
      time_zone: recording.timeZone ?? 'UTC',
      now: recording.now ?? source.createdAt.getTime(),
    },
    probes,
    posture: source.posture as unknown as Record<string, unknown>,
    redactions,
  };
}

/** The answers of a bundle, for recordedProbeContext. The last answer to a repeated question wins. */
export function recordingFromBundle(bundle: DiagBundle): ProbeRecording {
  const commands: NonNullable<ProbeRecording['commands']> = {};
  const files: NonNullable<ProbeRecording['files']> = {};
  for (const p of bundle.probes) {
    if (p.kind === 'exec') {
      commands[commandLine(p.command, p.args)] = {
        code: p.exit_code,
        stdout: p.stdout,
        stderr: p.stderr,
        ...(p.failure ? { failure: p.failure } : {}),
      };
    } else {
      files[p.path] = p.content;
    }
  }
  return {
    platform: bundle.device.platform,
    isPrivileged: bundle.device.is_privileged,
    kernel: bundle.device.kernel,
    arch: bundle.device.arch,
    timeZone: bundle.device.time_zone,
    now: bundle.device.now,
    commands,
    files,
  };
}

/** Reads a bundle, saying what is wrong with one that is not. */
export function parseBundle(text: string): DiagBundle {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('not a diagnostic bundle: the file is not JSON');
  }
  const checked = diagBundle.safeParse(doc);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new Error(`not a diagnostic bundle (format ${BUNDLE_FORMAT} version ${BUNDLE_VERSION}): ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`);
  }
  return checked.data;
}
