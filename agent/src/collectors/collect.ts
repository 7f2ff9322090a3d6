import {
  diskEncryptionSection,
  firewallSection,
  osSection,
  patchesSection,
  type DiskEncryptionSection,
  type FirewallSection,
  type OsSection,
  type PatchesSection,
  type Posture,
} from '@postern/shared';
import type { z } from 'zod';
import { linuxDiskEncryption } from './linux/disk-encryption.js';
import { linuxFirewall } from './linux/firewall.js';
import { linuxOs } from './linux/os.js';
import { linuxPatches } from './linux/patches.js';
import { portableOs } from './portable-os.js';
import { liveProbeContext, type ProbeContext } from './probe.js';
import { errorSection, guarded } from './section.js';

export interface Collector {
  collect(): Promise<Posture>;
}

export interface CollectorOptions {
  ctx?: ProbeContext;
  /** How long a patches reading is reused; apt/dnf take seconds. Default 1 h. */
  patchesTtlMs?: number;
}

export const DEFAULT_PATCHES_TTL_MS = 60 * 60 * 1000;
/** A failed patches probe (lock held, cache missing) is retried sooner than a good one. */
const PATCHES_ERROR_TTL_MS = 5 * 60 * 1000;
export const NOT_SUPPORTED = 'not supported on this platform yet';

interface Probes {
  os(ctx: ProbeContext): Promise<OsSection>;
  disk_encryption(ctx: ProbeContext): Promise<DiskEncryptionSection>;
  firewall(ctx: ProbeContext): Promise<FirewallSection>;
  patches(ctx: ProbeContext): Promise<PatchesSection>;
}

const unsupported = async (ctx: ProbeContext) => errorSection(ctx, NOT_SUPPORTED);

function probesFor(platform: ProbeContext['platform']): Probes {
  if (platform === 'linux') {
    return { os: linuxOs, disk_encryption: linuxDiskEncryption, firewall: linuxFirewall, patches: linuxPatches };
  }
  return { os: portableOs, disk_encryption: unsupported, firewall: unsupported, patches: unsupported };
}

/**
 * Every section is probed in parallel on each call except patches, whose reading is
 * reused for `patchesTtlMs` (keeping its original collected_at) so the agent can
 * re-check the cheap sections every minute.
 */
export function createCollector(options: CollectorOptions = {}): Collector {
  const ctx = options.ctx ?? liveProbeContext();
  const ttl = options.patchesTtlMs ?? DEFAULT_PATCHES_TTL_MS;
  const probes = probesFor(ctx.platform);
  let patches: { at: number; ttl: number; result: Promise<PatchesSection> } | undefined;

  const currentPatches = (): Promise<PatchesSection> => {
    const now = ctx.now();
    if (!patches || now - patches.at >= patches.ttl) {
      const entry = { at: now, ttl, result: section(ctx, patchesSection, probes.patches) };
      patches = entry;
      void entry.result.then((r) => {
        if (r.status === 'error') entry.ttl = Math.min(ttl, PATCHES_ERROR_TTL_MS);
      });
    }
    return patches.result;
  };

  return {
    async collect() {
      const [os, disk_encryption, firewall, patchesResult] = await Promise.all([
        section(ctx, osSection, probes.os),
        section(ctx, diskEncryptionSection, probes.disk_encryption),
        section(ctx, firewallSection, probes.firewall),
        currentPatches(),
      ]);
      return { os, disk_encryption, firewall, patches: patchesResult };
    },
  };
}

/**
 * Runs one probe and holds its result to the shared schema, so one bad section (a bug,
 * an over-long string) becomes an error section instead of an unusable posture.
 */
async function section<S extends z.ZodType>(
  ctx: ProbeContext,
  schema: S,
  probe: (ctx: ProbeContext) => Promise<z.infer<S>>,
): Promise<z.infer<S>> {
  const result = await guarded(ctx, probe);
  const checked = schema.safeParse(result);
  if (checked.success) return checked.data;
  const issue = checked.error.issues[0];
  return errorSection(ctx, `internal error: section failed the posture schema at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`) as z.infer<S>;
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
