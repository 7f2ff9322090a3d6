import {
  antivirusSection,
  diskEncryptionSection,
  firewallSection,
  osSection,
  patchesSection,
  screenLockSection,
  secureBootSection,
  type Platform,
  type Posture,
} from '@postern/shared';
import type { z } from 'zod';
import { MINUTE_MS, type PlatformProbes, type SectionName, type SectionProbe } from './platform-probes.js';
import { liveProbeContext, type ProbeContext } from './probe.js';
import { errorSection, guarded } from './section.js';

export interface Collector {
  collect(): Promise<Posture>;
}

export interface CollectorOptions {
  ctx?: ProbeContext;
  /**
   * How long collect() waits for a slow section (pending updates) that has never been
   * read; past it the section says it is still being read and the reading goes on, for
   * the next collection. Default: as long as the reading takes.
   */
  slowFirstReadWaitMs?: number;
  /** The probes to run instead of the platform's (tests). */
  probes?: PlatformProbes;
}

/** A failed reading (lock held, network down) is retried sooner than its TTL. */
const ERROR_TTL_MS = 5 * MINUTE_MS;

export const SECTION_NAMES: readonly SectionName[] = ['os', 'disk_encryption', 'firewall', 'patches', 'screen_lock', 'secure_boot', 'antivirus'];

const SCHEMAS: Record<SectionName, z.ZodType> = {
  os: osSection,
  disk_encryption: diskEncryptionSection,
  firewall: firewallSection,
  patches: patchesSection,
  screen_lock: screenLockSection,
  secure_boot: secureBootSection,
  antivirus: antivirusSection,
};

/** Only the running platform's collectors are loaded. */
const PLATFORM_PROBES: Record<Platform, () => Promise<PlatformProbes>> = {
  linux: async () => (await import('./linux/probes.js')).linuxProbes,
  darwin: async () => (await import('./darwin/probes.js')).darwinProbes,
  win32: async () => (await import('./win32/probes.js')).win32Probes,
};

export function stillReading(name: SectionName): string {
  return `still reading ${name.replace('_', ' ')} (this can take minutes); the next report carries it`;
}

interface Reading {
  startedAt: number;
  ttlMs: number;
  /** The newest finished reading. */
  last: unknown;
  /** A reading under way. */
  pending: Promise<unknown> | null;
}

/**
 * Reads every section in parallel, each on its own schedule: a section whose reading
 * is younger than its TTL is reused with its original `collected_at`, the others are
 * read again. Slow sections (pending updates) are served from the last reading while a
 * new one runs, so a collection never waits minutes once the agent has warmed up.
 */
export function createCollector(options: CollectorOptions = {}): Collector {
  const ctx = options.ctx ?? liveProbeContext();
  let probes: Promise<PlatformProbes> | undefined = options.probes ? Promise.resolve(options.probes) : undefined;
  const readings = new Map<SectionName, Reading>();

  const start = (name: SectionName, probe: SectionProbe<SectionName>, now: number): Reading => {
    const { ttlMs } = probe;
    const reading: Reading = { startedAt: now, ttlMs, last: readings.get(name)?.last, pending: null };
    reading.pending = section(ctx, SCHEMAS[name], probe.read).then((result) => {
      reading.last = result;
      reading.pending = null;
      if ((result as { status: string }).status === 'error') reading.ttlMs = Math.min(ttlMs, ERROR_TTL_MS);
      return result;
    });
    readings.set(name, reading);
    return reading;
  };

  const read = (name: SectionName, table: PlatformProbes): Promise<unknown> => {
    const probe = table[name] as SectionProbe<SectionName>;
    const now = ctx.now();
    let reading = readings.get(name);
    if (!reading || (!reading.pending && now - reading.startedAt >= reading.ttlMs)) reading = start(name, probe, now);
    if (!reading.pending) return Promise.resolve(reading.last);
    if (probe.slow && reading.last !== undefined) return Promise.resolve(reading.last);
    if (probe.slow && options.slowFirstReadWaitMs !== undefined) {
      return withDeadline(reading.pending, options.slowFirstReadWaitMs, () => errorSection(ctx, stillReading(name)));
    }
    return reading.pending;
  };

  return {
    async collect() {
      const table = await (probes ??= PLATFORM_PROBES[ctx.platform]());
      const results = await Promise.all(SECTION_NAMES.map((name) => read(name, table)));
      return Object.fromEntries(SECTION_NAMES.map((name, i) => [name, results[i]])) as Posture;
    },
  };
}

function withDeadline<T>(promise: Promise<T>, ms: number, late: () => T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(late()), ms);
    timer.unref?.();
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * Runs one probe and holds its result to the shared schema, so one bad section (a bug,
 * an over-long string) becomes an error section instead of an unusable posture.
 */
async function section(ctx: ProbeContext, schema: z.ZodType, probe: (ctx: ProbeContext) => Promise<unknown>): Promise<unknown> {
  const result = await guarded(ctx, probe);
  const checked = schema.safeParse(result);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  return errorSection(ctx, `internal error: section failed the posture schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`);
}

/** True when the facts differ; `collected_at` alone changing is not a change. */
export function postureChanged(a: Posture, b: Posture): boolean {
  return canonical(a) !== canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    if (key === 'collected_at') return undefined;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    }
    return v;
  });
}
