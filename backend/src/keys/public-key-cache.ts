import { createPublicKey, type KeyObject } from 'node:crypto';
import { deviceKid, type PublicP256Jwk } from '@postern/shared';

interface Entry {
  x: string;
  y: string;
  key: KeyObject;
}

/**
 * Imported device public keys by kid, least recently used first out. Importing a P-256 key
 * costs more than verifying a signature with it (profiled: the largest item of ingest and
 * forward-auth), and a kid is the RFC 7638 thumbprint of its key, so kid → key never changes.
 * An entry is only made after the thumbprint was checked; later lookups compare the
 * coordinates instead of hashing again. An imported key holds about 7.5 KB outside the JS heap
 * (measured), so the cache keeps the 10,000 most recently used (≈ 75 MB) rather than every
 * device of a large fleet: those report every few minutes, where an import costs little.
 * The keys are node:crypto KeyObjects, what keys/compact-jws.ts verifies with, so no request
 * converts a WebCrypto key.
 */
export class PublicKeyCache {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly capacity = 10_000) {}

  /** The key for `kid`, or null when `jwk` is not the key that kid names. Throws when the coordinates are not a P-256 point. */
  async get(kid: string, jwk: PublicP256Jwk): Promise<KeyObject | null> {
    const hit = this.#entries.get(kid);
    if (hit && hit.x === jwk.x && hit.y === jwk.y) {
      this.#entries.delete(kid);
      this.#entries.set(kid, hit);
      return hit.key;
    }
    if ((await deviceKid({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y })) !== kid) return null;
    // A key that fails to import (not a point of the curve) throws here and is not remembered.
    const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
    this.#entries.set(kid, { x: jwk.x, y: jwk.y, key });
    if (this.#entries.size > this.capacity) this.#entries.delete(this.#entries.keys().next().value as string);
    return key;
  }

  get size(): number {
    return this.#entries.size;
  }
}
