import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { platform as platformSchema, type Platform } from '@postern/shared';
import nodeMachineId from 'node-machine-id';
import { EnrollmentError } from '../errors.js';

/** What the enrollment request says about the device besides its key. */
export interface DeviceFacts {
  /** SHA-256 hex of the OS machine id; the raw id never leaves the device. */
  machine_id: string;
  hostname: string;
  platform: Platform;
  serial?: string;
}

/** Values firmware vendors leave in the serial field when there is none. */
const PLACEHOLDER_SERIALS = new Set([
  '',
  '-',
  'none',
  'n/a',
  'na',
  'null',
  'unknown',
  'default string',
  'to be filled by o.e.m.',
  'to be filled by oem',
  'system serial number',
  'chassis serial number',
  'not specified',
  'not applicable',
  'not available',
  'invalid',
  'oem',
  '0123456789',
  '123456789',
]);

/** A hardware serial worth sending, or undefined for empty, placeholder or all-same-character values. */
export function usableSerial(raw: string | undefined | null): string | undefined {
  const serial = raw?.trim() ?? '';
  if (PLACEHOLDER_SERIALS.has(serial.toLowerCase())) return undefined;
  if (/^(.)\1*$/.test(serial)) return undefined; // "0000000", "XXXXXXXX"
  if (serial.length > 128) return undefined;
  return serial;
}

export function hashMachineId(raw: string): string {
  return createHash('sha256').update(raw, 'utf8').digest('hex');
}

export async function readDeviceFacts(): Promise<DeviceFacts> {
  const platform = platformSchema.safeParse(process.platform);
  if (!platform.success) {
    throw new EnrollmentError('unsupported_platform', `postern-agent supports linux, darwin and win32, not ${process.platform}`);
  }
  let rawMachineId: string;
  try {
    rawMachineId = await nodeMachineId.machineId(true);
  } catch (err) {
    throw new EnrollmentError('no_machine_id', `cannot read this machine's id (${(err as Error).message.split('\n')[0]}): on Linux, check that /etc/machine-id exists`, { cause: err });
  }
  const facts: DeviceFacts = {
    machine_id: hashMachineId(rawMachineId.trim()),
    hostname: hostname().slice(0, 255) || 'unknown',
    platform: platform.data,
  };
  const serial = await readSerial();
  if (serial) facts.serial = serial;
  return facts;
}

/**
 * The serial is optional: often root-only on Linux, absent in VMs and containers.
 * systeminformation is loaded here only: enrollment is its one user, and it is a large module.
 */
async function readSerial(): Promise<string | undefined> {
  try {
    const { default: si } = await import('systeminformation');
    return usableSerial((await si.system()).serial);
  } catch {
    return undefined;
  }
}
