import { z } from 'zod';
import type { CatalogCheck } from '../types.js';

export const systemVolumeParams = z.object({});

export const diskEncryptionSystemVolume: CatalogCheck<z.infer<typeof systemVolumeParams>> = {
  id: 'disk_encryption.system_volume',
  evaluate(posture) {
    const section = posture.disk_encryption;
    if (section.status !== 'ok') return { status: 'unknown', message: `disk encryption could not be read: ${section.error}` };
    const system = section.volumes.find((v) => v.system);
    if (!system) return { status: 'unknown', message: 'the system volume was not found among the reported volumes' };
    if (system.encrypted && system.state === 'on') return { status: 'pass', message: `system volume ${system.mount} is encrypted (${system.method ?? 'encrypted'})` };
    if (system.state === 'encrypting') return { status: 'fail', message: `system volume ${system.mount} is still being encrypted` };
    if (system.state === 'suspended') return { status: 'fail', message: `encryption of system volume ${system.mount} is suspended: its data is readable` };
    if (system.state === 'decrypting') return { status: 'fail', message: `system volume ${system.mount} is being decrypted` };
    if (system.encrypted && system.state === 'unknown') return { status: 'unknown', message: `system volume ${system.mount} is encrypted but its protection state is unknown` };
    return { status: 'fail', message: `system volume ${system.mount} is not encrypted` };
  },
};
