import type { Kysely } from 'kysely';
import { checkResult, type CheckResult } from '@postern/shared';
import { z } from 'zod';
import type { Database, Device, DevicePosture } from '../store/schema.js';

export function findDeviceByKid(db: Kysely<Database>, kid: string): Promise<Device | null> {
  return db.selectFrom('devices').selectAll().where('kid', '=', kid).executeTakeFirst().then((d) => d ?? null);
}

export function findDevice(db: Kysely<Database>, id: string): Promise<Device | null> {
  if (!z.uuid().safeParse(id).success) return Promise.resolve(null);
  return db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst().then((d) => d ?? null);
}

export function findLatestPosture(db: Kysely<Database>, deviceId: string): Promise<DevicePosture | null> {
  return db.selectFrom('device_posture').selectAll().where('device_id', '=', deviceId).executeTakeFirst().then((p) => p ?? null);
}

const storedChecks = z.array(checkResult);
/** Stored checks are our own writing, but a schema still stands between the database and logic. */
export function checksOf(row: Pick<DevicePosture, 'checks'> | null): CheckResult[] {
  if (!row) return [];
  const parsed = storedChecks.safeParse(row.checks);
  return parsed.success ? parsed.data : [];
}

export function toSeconds(date: Date | null): number | null {
  return date === null ? null : Math.floor(date.getTime() / 1000);
}
