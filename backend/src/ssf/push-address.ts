import ipaddr from 'ipaddr.js';

/** Hosts (exact, case-insensitive) and address ranges a push endpoint may use although they are not public. */
export interface AllowList {
  hosts: ReadonlySet<string>;
  ranges: ReadonlyArray<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
  /** As configured, for messages. */
  text: string;
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), ranges: [], text: '' };

/**
 * Reads `host,10.0.0.0/8,::1` style lists: an entry that parses as an address or CIDR is a range
 * (an address alone is a single-address range), anything else a host name compared with the URL's.
 */
export function parseAllowList(raw: string, setting: string): AllowList {
  const hosts = new Set<string>();
  const ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> = [];
  for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const bare = entry.replace(/^\[(.*)\]$/, '$1');
    if (bare.includes('/')) {
      try {
        ranges.push(ipaddr.parseCIDR(bare));
      } catch {
        throw new Error(`${setting}: "${entry}" is not a CIDR range such as 10.0.0.0/8 or fd00::/8`);
      }
    } else if (ipaddr.isValid(bare)) {
      const address = ipaddr.parse(bare);
      ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(bare)) {
      hosts.add(bare.toLowerCase());
    } else {
      throw new Error(`${setting}: "${entry}" is neither a host name, an address nor a CIDR range`);
    }
  }
  return { hosts, ranges, text: raw };
}

export function hostAllowed(hostname: string, allow: AllowList): boolean {
  return allow.hosts.has(hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase());
}

/**
 * Why a push may not connect to `address` (an IPv4 or IPv6 literal), or null when it may.
 * Only public unicast addresses pass: loopback, private, link-local (cloud metadata at
 * 169.254.169.254), CGNAT, multicast, unique-local (fd00:ec2::254), unspecified, reserved and
 * the IPv6 forms that embed an IPv4 address are refused, unless the allow list names the host or
 * a range holding the address.
 */
export function addressRefusal(address: string, hostname: string, allow: AllowList): string | null {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (hostAllowed(hostname, allow)) return null;
  for (const [range, bits] of allow.ranges) if (range.kind() === parsed.kind() && parsed.match(range, bits)) return null;
  const kind = parsed.range();
  if (kind === 'unicast') return null;
  return `${parsed.toString()} is a ${RANGE_WORDS[kind] ?? kind} address, which a push endpoint may not use unless POSTERN_SSF_PUSH_ALLOW_HOSTS names it`;
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade NAT',
  multicast: 'multicast',
  uniqueLocal: 'unique-local',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  reserved: 'reserved',
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
};

/**
 * Why a push endpoint URL is refused when a receiver sets it, or null: http(s) only, no user info,
 * and https unless the allow list names the host (a test or in-house receiver on plain HTTP).
 * Its addresses are checked on every delivery, after DNS resolution (push-request.ts).
 */
export function pushUrlRefusal(raw: string, allow: AllowList): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `endpoint_url ${JSON.stringify(raw)} is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `endpoint_url must be https://, not ${url.protocol}`;
  if (url.username || url.password) return 'endpoint_url must not carry a user name or password: send credentials as delivery.authorization_header';
  if (url.protocol === 'http:' && !hostNamedByAllowList(url.hostname, allow)) return 'endpoint_url must be https:// (plain http:// only to a host POSTERN_SSF_PUSH_ALLOW_HOSTS names)';
  return null;
}

function hostNamedByAllowList(hostname: string, allow: AllowList): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  if (hostAllowed(bare, allow)) return true;
  if (!ipaddr.isValid(bare)) return false;
  const address = ipaddr.parse(bare);
  return allow.ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
}
