import { z } from 'zod';
import type { CatalogCheck } from '../types.js';
import { RUN_PRIVILEGED, unreadable } from './common.js';

export const secureBootParams = z.strictObject({});

export const secureBootEnabled: CatalogCheck<z.infer<typeof secureBootParams>> = {
  id: 'secure_boot.enabled',
  summary: 'the firmware boots only signed boot loaders (UEFI Secure Boot; Apple: Full Security)',
  section: 'secure_boot',
  params: secureBootParams,
  reasons: ['off', 'unsupported'],
  evaluate(posture) {
    const s = posture.secure_boot;
    const missing = unreadable('Secure Boot', s);
    if (missing || s === undefined || s.status !== 'ok') {
      // A legacy-BIOS machine cannot have Secure Boot at all: that is a failure, not an unknown.
      if (s?.status === 'error' && /unsupported|not supported|legacy|bios/i.test(s.error)) return { status: 'fail', reason: 'unsupported', message: `Secure Boot is not available on this machine: ${s.error}` };
      return missing!;
    }
    return s.enabled ? { status: 'pass', message: 'Secure Boot is on' } : { status: 'fail', reason: 'off', message: 'Secure Boot is off' };
  },
  remediation: {
    linux: {
      default: 'Turn on Secure Boot in the UEFI firmware settings (enter setup at boot), keeping the distribution\'s signed shim; `mokutil --sb-state` shows the state.',
      off: 'Turn on Secure Boot in the UEFI firmware settings (enter setup at boot), keeping the distribution\'s signed shim; `mokutil --sb-state` shows the state.',
      unsupported: 'This machine boots in legacy BIOS mode: reinstall in UEFI mode with Secure Boot on, or replace the hardware.',
      unknown: RUN_PRIVILEGED.linux,
    },
    darwin: {
      default: 'Set Full Security in Startup Security Utility (start up in macOS Recovery > Utilities > Startup Security Utility).',
      off: 'Set Full Security in Startup Security Utility (start up in macOS Recovery > Utilities > Startup Security Utility).',
      unsupported: 'This Mac has no Secure Boot (no Apple silicon or T2 chip): replace it with a supported Mac.',
      unknown: RUN_PRIVILEGED.darwin,
    },
    win32: {
      default: 'Turn on Secure Boot in the UEFI firmware settings (Settings > System > Recovery > Advanced startup > UEFI Firmware Settings); `Confirm-SecureBootUEFI` shows the state.',
      off: 'Turn on Secure Boot in the UEFI firmware settings (Settings > System > Recovery > Advanced startup > UEFI Firmware Settings); `Confirm-SecureBootUEFI` shows the state.',
      unsupported: 'This PC boots in legacy BIOS mode: convert the disk with `mbr2gpt /convert`, switch the firmware to UEFI and turn on Secure Boot.',
      unknown: RUN_PRIVILEGED.win32,
    },
  },
};
