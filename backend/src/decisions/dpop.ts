import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { accessTokenHash, deviceKid, DPOP_TYP, publicP256Jwk } from '@postern/shared';
import { hashSecret } from '../secrets/secret.js';
import type { Database } from '../store/schema.js';

export class DpopInvalid extends Error {
  readonly code = 'invalid_dpop_proof';
}

const proofClaims = z.object({
  jti: z.string().min(8).max(128),
  htm: z.string(),
  htu: z.string(),
  iat: z.number().int(),
  ath: z.string(),
});

const IAT_WINDOW_S = 60;

/**
 * Verifies an RFC 9449 DPoP proof for one request: ES256 only, signed by the key whose
 * thumbprint the access token is bound to, for this method and URL, recent, with the
 * token's hash, and never seen before (the jti is recorded for every replica).
 */
export async function verifyDpopProof(
  db: Kysely<Database>,
  proof: string,
  expected: { method: string; url: string; accessToken: string; jkt: string; now: number },
): Promise<void> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    throw new DpopInvalid('the DPoP header is not a JWS');
  }
  if (header.typ !== DPOP_TYP) throw new DpopInvalid(`the DPoP proof typ must be "${DPOP_TYP}"`);
  if (header.alg !== 'ES256') throw new DpopInvalid('the DPoP proof must be signed ES256');
  const jwk = publicP256Jwk.safeParse(header.jwk);
  if (!jwk.success) throw new DpopInvalid('the DPoP proof must carry a public P-256 jwk');
  if ((await deviceKid(jwk.data)) !== expected.jkt) throw new DpopInvalid('the DPoP proof is signed by a key other than the one the token is bound to');
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(proof, await importJWK(jwk.data, 'ES256'), { algorithms: ['ES256'] }));
  } catch {
    throw new DpopInvalid('the DPoP proof signature does not verify');
  }
  let claims: z.infer<typeof proofClaims>;
  try {
    claims = proofClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch {
    throw new DpopInvalid('the DPoP proof claims are incomplete (jti, htm, htu, iat, ath)');
  }
  if (claims.htm !== expected.method) throw new DpopInvalid(`the DPoP proof is for method ${claims.htm}, not ${expected.method}`);
  if (normalizeHtu(claims.htu) !== normalizeHtu(expected.url)) throw new DpopInvalid(`the DPoP proof is for ${claims.htu}, not ${expected.url}`);
  if (Math.abs(expected.now - claims.iat) > IAT_WINDOW_S) throw new DpopInvalid(`the DPoP proof iat is more than ${IAT_WINDOW_S} s from the server's clock`);
  if (claims.ath !== accessTokenHash(expected.accessToken)) throw new DpopInvalid('the DPoP proof ath does not match the presented token');

  const fresh = await db
    .insertInto('dpop_jtis')
    .values({ jti_hash: hashSecret(`${expected.jkt}:${claims.jti}`), expires_at: new Date((expected.now + 2 * IAT_WINDOW_S) * 1000) })
    .onConflict((oc) => oc.doNothing())
    .returning('jti_hash')
    .executeTakeFirst();
  if (!fresh) throw new DpopInvalid('this DPoP proof was already used: make a new proof for every request');
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

/** Forget proof ids older than the iat window; called periodically. */
export async function pruneDpopJtis(db: Kysely<Database>, now: number): Promise<void> {
  await db.deleteFrom('dpop_jtis').where('expires_at', '<', new Date(now * 1000)).execute();
}
