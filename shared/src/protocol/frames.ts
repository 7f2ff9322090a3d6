import { z } from 'zod';
import { compactJws, nonce, numericDate } from './encoding.js';
import { streamErrorCode } from './errors.js';
import { checkResult, verdict } from './verdict.js';

export const challengeFrame = z.object({ type: z.literal('challenge'), nonce, server_time: numericDate });
export const attestationFrame = z.object({ type: z.literal('attestation'), token: compactJws });
export const resultFrame = z.object({
  type: z.literal('result'),
  seq: z.number().int().nonnegative(),
  verdict,
  score: z.number().int().min(0).max(100),
  checks: z.array(checkResult),
  token: compactJws,
  nonce,
});
export const errorFrame = z.object({
  type: z.literal('error'),
  code: streamErrorCode,
  message: z.string(),
  nonce: nonce.optional(),
});
export const collectFrame = z.object({ type: z.literal('collect') });
export const configFrame = z.object({
  type: z.literal('config'),
  report_interval_s: z.number().int().positive(),
  /** The oldest a device key may be before the agent rotates it (POSTERN_KEY_MAX_AGE); null or absent: no limit. */
  key_max_age_s: z.number().int().positive().nullable().optional(),
});

/** Frames an agent may send. */
export const agentFrame = z.discriminatedUnion('type', [attestationFrame]);
/** Frames the server may send. */
export const serverFrame = z.discriminatedUnion('type', [challengeFrame, resultFrame, errorFrame, collectFrame, configFrame]);

export type ChallengeFrame = z.infer<typeof challengeFrame>;
export type AttestationFrame = z.infer<typeof attestationFrame>;
export type ResultFrame = z.infer<typeof resultFrame>;
export type ErrorFrame = z.infer<typeof errorFrame>;
export type CollectFrame = z.infer<typeof collectFrame>;
export type ConfigFrame = z.infer<typeof configFrame>;
export type AgentFrame = z.infer<typeof agentFrame>;
export type ServerFrame = z.infer<typeof serverFrame>;
