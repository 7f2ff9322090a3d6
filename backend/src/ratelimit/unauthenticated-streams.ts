/**
 * Counts agent streams that have not yet authenticated, in all and per address, so that idle
 * sockets cannot pile up until the server runs out of descriptors. A stream counts from its
 * upgrade request until its first valid attestation or its socket closes, whichever comes first.
 */
export class UnauthenticatedStreams {
  private total = 0;
  private readonly byAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
  ) {}

  /** A release function (idempotent) for an admitted stream, or which cap it is over. */
  admit(address: string): (() => void) | 'server' | 'address' {
    if (this.total >= this.max) return 'server';
    const mine = this.byAddress.get(address) ?? 0;
    if (mine >= this.maxPerAddress) return 'address';
    this.total += 1;
    this.byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byAddress.get(address) ?? 1) - 1;
      if (left === 0) this.byAddress.delete(address);
      else this.byAddress.set(address, left);
    };
  }

  get size(): number {
    return this.total;
  }
}
