import { z } from 'zod';

/** A public P-256 EC JWK: the only key shape a device may enroll. Private members are refused. */
export const publicP256Jwk = z
  .object({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    y: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
    d: z.undefined({ message: 'a public key must not carry the private member "d"' }).optional(),
  })
  .transform(({ kty, crv, x, y }) => ({ kty, crv, x, y }));
export type PublicP256Jwk = z.infer<typeof publicP256Jwk>;
