import { BlockList, isIP } from 'node:net';

/** A radius.clients address as the NAS table reads it: "10.0.0.1" is 10.0.0.1/32, "fd00::1" is /128. */
export interface NasSubnet {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly prefix: number;
  /** The sources it speaks for. */
  readonly match: BlockList;
  /**
   * Prefix length on the IPv6 scale (an IPv4 /n is the IPv4-mapped /96+n): BlockList matches
   * IPv4 sources against IPv4-mapped IPv6 rules too, so 10.0.0.1 and ::ffff:10.0.0.1 speak for
   * the same source, as closely.
   */
  readonly specificity: number;
}

/** Reads an address or CIDR the schema has accepted (an address, then optionally /bits). */
export function nasSubnet(address: string): NasSubnet {
  const [addr, bits] = address.split('/') as [string, string | undefined];
  const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
  const match = new BlockList();
  match.addSubnet(addr, prefix, family);
  return { address: addr, family, prefix, match, specificity: family === 'ipv4' ? 96 + prefix : prefix };
}

/**
 * Whether two entries name the same subnet however they are written (10.0.0.5/24 and
 * 10.0.0.0/24, /024 and /24, 10.0.0.1 and ::ffff:10.0.0.1): as specific, and each holding
 * the other's address.
 */
export function sameSubnet(a: NasSubnet, b: NasSubnet): boolean {
  return a.specificity === b.specificity && a.match.check(b.address, b.family) && b.match.check(a.address, a.family);
}
