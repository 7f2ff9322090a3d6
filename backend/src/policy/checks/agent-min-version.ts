import { z } from 'zod';
import { compareVersions, minVersion } from '../version-compare.js';
import type { CatalogCheck } from '../types.js';

export const agentMinVersionParams = z.strictObject({ min: minVersion });

const UPDATE = 'Update postern-agent to the version named in the message (the installer from your IT department, or your package manager), then restart it.';

export const agentMinVersion: CatalogCheck<z.infer<typeof agentMinVersionParams>> = {
  id: 'agent.min_version',
  summary: 'postern-agent is at least version `min` (the version the report is signed with)',
  section: 'agent',
  params: agentMinVersionParams,
  reasons: ['too_old'],
  evaluate(_posture, { min }, context) {
    if (context.agentVersion === null) return { status: 'unknown', reason: 'unknown', message: 'the agent version is not known' };
    const cmp = compareVersions(context.agentVersion, min);
    if (cmp === null) return { status: 'unknown', reason: 'unknown', message: `agent version "${context.agentVersion}" cannot be compared with ${min}` };
    return cmp >= 0
      ? { status: 'pass', message: `postern-agent ${context.agentVersion} is at or above ${min}` }
      : { status: 'fail', reason: 'too_old', message: `postern-agent ${context.agentVersion} is older than the minimum ${min}` };
  },
  remediation: { linux: { default: UPDATE }, darwin: { default: UPDATE }, win32: { default: UPDATE } },
};
