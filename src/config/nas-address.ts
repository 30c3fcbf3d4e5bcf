import { BlockList, isIP } from 'node:net';

/** A radius.clients address as the NAS table reads it: "10.0.0.1" is 10.0.0.1/32, "fd00::1" is /128. */
export interface NasSubnet {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly prefix: number;
  /** The sources it speaks for. */
  readonly match: BlockList;
}

/** Reads an address or CIDR the schema has accepted (an address, then optionally /bits). */
export function nasSubnet(address: string): NasSubnet {
  const [addr, bits] = address.split('/') as [string, string | undefined];
  const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
  const match = new BlockList();
  match.addSubnet(addr, prefix, family);
  return { address: addr, family, prefix, match };
}

/** Whether two entries name the same subnet however they are written (10.0.0.5/24 and 10.0.0.0/24, /024 and /24). */
export function sameSubnet(a: NasSubnet, b: NasSubnet): boolean {
  return a.family === b.family && a.prefix === b.prefix && a.match.check(b.address, b.family);
}
