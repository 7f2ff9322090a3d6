import { z } from 'zod';
import type { CatalogCheck } from '../types.js';

export const maxPendingSecurityParams = z.object({ max: z.number().int().nonnegative() });

export const patchesMaxPendingSecurity: CatalogCheck<z.infer<typeof maxPendingSecurityParams>> = {
  id: 'patches.max_pending_security',
  evaluate(posture, { max }) {
    const p = posture.patches;
    if (p.status !== 'ok') return { status: 'unknown', message: `pending updates could not be read: ${p.error}` };
    return p.pending_security <= max
      ? { status: 'pass', message: `${p.pending_security} security update${p.pending_security === 1 ? '' : 's'} pending` }
      : { status: 'fail', message: `${p.pending_security} security updates are pending (at most ${max} allowed)` };
  },
};
