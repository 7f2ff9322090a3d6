import type { Kysely } from 'kysely';
import { z } from 'zod';
import { accessTokenHash, DPOP_TYP, publicP256Jwk } from '@postern/shared';
import { parseCompactJws, verifyCompactJws } from '../keys/compact-jws.js';
import type { PublicKeyCache } from '../keys/public-key-cache.js';
import type { DpopNonces } from './dpop-nonce.js';
import type { Outcome } from '../store/micro-batch.js';
import { hashSecret } from '../secrets/secret.js';
import { jsonRecordset } from '../store/json-recordset.js';
import type { Database } from '../store/schema.js';

export class DpopInvalid extends Error {
  readonly code: 'invalid_dpop_proof' | 'use_dpop_nonce' = 'invalid_dpop_proof';
}

/** RFC 9449 §8: the proof lacks the server's current nonce; the answer carries one to sign in. */
export class DpopNonceRequired extends DpopInvalid {
  override readonly code = 'use_dpop_nonce';
}

const proofClaims = z.object({
  jti: z.string().min(8).max(128),
  htm: z.string(),
  htu: z.string(),
  iat: z.number().int(),
  ath: z.string(),
  nonce: z.string().max(256).optional(),
});

const IAT_WINDOW_S = 60;
const utf8 = new TextDecoder();

/**
 * Checks an RFC 9449 DPoP proof for one request: ES256 only, signed by the key whose
 * thumbprint the access token is bound to, for this method and URL, recent, with the
 * token's hash, and with the server's current nonce when `nonces` are required. Returns the proof id to spend: the proof holds only if `spendJtis` finds it
 * never seen before (recorded for every replica).
 */
export async function checkDpopProof(
  proof: string,
  expected: { method: string; url: string; accessToken: string; jkt: string; now: number; nonces?: DpopNonces | null },
  publicKeys: PublicKeyCache,
): Promise<JtiSpend> {
  // node:crypto rather than jose, as for attestations (keys/compact-jws.ts): one verification per decision is the floor.
  const jws = parseCompactJws(proof);
  if (!jws) throw new DpopInvalid('the DPoP header is not a JWS');
  const { header } = jws;
  if (header.typ !== DPOP_TYP) throw new DpopInvalid(`the DPoP proof typ must be "${DPOP_TYP}"`);
  if (header.alg !== 'ES256') throw new DpopInvalid('the DPoP proof must be signed ES256');
  const jwk = publicP256Jwk.safeParse(header.jwk);
  if (!jwk.success) throw new DpopInvalid('the DPoP proof must carry a public P-256 jwk');
  const key = await publicKeys.get(expected.jkt, jwk.data);
  if (!key) throw new DpopInvalid('the DPoP proof is signed by a key other than the one the token is bound to');
  const payload = await verifyCompactJws(jws, key);
  if (!payload) throw new DpopInvalid('the DPoP proof signature does not verify');
  let claims: z.infer<typeof proofClaims>;
  try {
    claims = proofClaims.parse(JSON.parse(utf8.decode(payload)));
  } catch {
    throw new DpopInvalid('the DPoP proof claims are incomplete (jti, htm, htu, iat, ath)');
  }
  if (claims.htm !== expected.method) throw new DpopInvalid(`the DPoP proof is for method ${claims.htm}, not ${expected.method}`);
  if (normalizeHtu(claims.htu) !== normalizeHtu(expected.url)) throw new DpopInvalid(`the DPoP proof is for ${claims.htu}, not ${expected.url}`);
  if (Math.abs(expected.now - claims.iat) > IAT_WINDOW_S) throw new DpopInvalid(`the DPoP proof iat is more than ${IAT_WINDOW_S} s from the server's clock`);
  if (claims.ath !== accessTokenHash(expected.accessToken)) throw new DpopInvalid('the DPoP proof ath does not match the presented token');
  if (expected.nonces && (claims.nonce === undefined || !expected.nonces.accepts(claims.nonce, expected.now))) {
    throw new DpopNonceRequired(`${claims.nonce === undefined ? 'the DPoP proof has no nonce' : 'the DPoP proof nonce is not this server\'s current one'}: sign a new proof with the nonce in the DPoP-Nonce header of this answer`);
  }

  // Kept past the last second the iat check could still pass (a proof dated IAT_WINDOW_S ahead is
  // accepted until now + 2 × IAT_WINDOW_S inclusive, on a clock counted in whole seconds).
  return { jtiHash: hashSecret(`${expected.jkt}:${claims.jti}`), expiresAt: new Date((expected.now + 2 * IAT_WINDOW_S + 1) * 1000) };
}

export const replayedProof = (): DpopInvalid => new DpopInvalid('this DPoP proof was already used: make a new proof for every request');

export interface JtiSpend {
  jtiHash: string;
  expiresAt: Date;
}

/**
 * Records proof ids for every replica in one statement; true for each one not seen before.
 * Within one batch the first of two equal ids is the fresh one.
 */
export async function spendJtis(db: Kysely<Database>, spends: readonly JtiSpend[]): Promise<Array<Outcome<boolean>>> {
  const first = new Map<string, JtiSpend>();
  for (const spend of spends) if (!first.has(spend.jtiHash)) first.set(spend.jtiHash, spend);
  // One JSON parameter for the batch, as ingest's statements take theirs (store/json-recordset.ts):
  // the statement's text is the same whatever the batch's size, cheap to build and to parse.
  const spent = jsonRecordset(
    [...first.values()].map((s) => ({ jti_hash: s.jtiHash, expires_at: s.expiresAt.getTime() / 1000 })),
    'j',
    { jti_hash: 'text', expires_at: 'timestamptz' },
  );
  const inserted = await db
    .insertInto('dpop_jtis')
    .columns(['jti_hash', 'expires_at'])
    .expression((eb) => eb.selectFrom(spent).select(['j.jti_hash', 'j.expires_at']))
    .onConflict((oc) => oc.doNothing())
    .returning('jti_hash')
    .execute();
  const fresh = new Set(inserted.map((r) => r.jti_hash));
  return spends.map((spend) => ({ ok: true, value: first.get(spend.jtiHash) === spend && fresh.has(spend.jtiHash) }));
}

/** RFC 9449 §4.3: compare htu without query and fragment, with scheme and host case-folded. */
export function normalizeHtu(raw: string): string {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return raw;
  }
}
