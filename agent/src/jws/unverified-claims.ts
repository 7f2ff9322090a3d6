/**
 * The claims of a compact JWS (a JWT) without verifying its signature: for what the agent only
 * shows or schedules by (its own result token's group and expiry), never for a decision.
 * Throws when the text is not three base64url parts with a JSON object as the payload.
 */
export function unverifiedClaims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))) throw new TypeError('not a compact JWS');
  const claims: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new TypeError('the JWS payload is not a JSON object');
  return claims as Record<string, unknown>;
}
