import { z } from 'zod';
import type { AdminRole } from '../store/schema.js';

/** Each role may do what the ones before it may: viewer reads, operator acts on devices, admin changes policy, tokens, keys and accounts. */
export const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly AdminRole[];
export const role = z.enum(ROLES);

export function roleAllows(held: AdminRole, needed: AdminRole): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

export const ROLE_DOES: Record<AdminRole, string> = {
  viewer: 'read devices, policies, exceptions, audit and events',
  operator: 'also approve, deny, revoke and regroup devices and grant exceptions',
  admin: 'also change policy, enrollment tokens, gateway keys and admin accounts',
};
