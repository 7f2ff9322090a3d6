import { z } from 'zod';
import { parseAllowList, type AllowList } from './push-address.js';

/** The transmitter's tunables, from the environment; each is checked so a typo stops the start. */
export interface SsfSettings {
  /** POSTERN_SSF_MAX_ATTEMPTS: push attempts of one SET before its stream is marked failing (delivery goes on, backing off). */
  maxAttempts: number;
  /** POSTERN_SSF_RETRY_MAX_S: the longest pause between two push attempts. */
  retryMaxS: number;
  /** POSTERN_SSF_PUSH_ALLOW_HOSTS: hosts and CIDRs a push endpoint may be at although they are not public. */
  allow: AllowList;
}

const positiveInt = z.coerce.number().int().positive();

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = positiveInt.safeParse(raw);
  if (!parsed.success) throw new Error(`${name}=${JSON.stringify(raw)} is not a positive whole number (default ${fallback})`);
  return parsed.data;
}

export function ssfSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SsfSettings {
  return {
    maxAttempts: numberFrom(env, 'POSTERN_SSF_MAX_ATTEMPTS', 8),
    retryMaxS: numberFrom(env, 'POSTERN_SSF_RETRY_MAX_S', 300),
    allow: parseAllowList(env.POSTERN_SSF_PUSH_ALLOW_HOSTS ?? '', 'POSTERN_SSF_PUSH_ALLOW_HOSTS'),
  };
}
