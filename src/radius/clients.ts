import { BlockList, isIP } from 'node:net';
import type { NasClientConfig } from '../config/load.js';

/** A router (NAS) allowed to ask, as the RADIUS code needs it. */
export interface NasClient {
  readonly name: string;
  readonly secret: string;
  readonly requireMessageAuthenticator: boolean;
  readonly noSession: { readonly answer: 'reject' | 'vlan'; readonly vlan?: string };
}

interface Entry {
  readonly client: NasClient;
  readonly match: BlockList;
  /** Prefix length on the IPv6 scale (an IPv4 /n is the IPv4-mapped /96+n), so both families compare. */
  readonly specificity: number;
}

/** The NAS table: which source address speaks for which router. */
export class NasTable {
  private readonly entries: readonly Entry[];

  constructor(clients: readonly NasClientConfig[]) {
    this.entries = clients
      .map((c) => {
        const [addr, bits] = c.address.split('/') as [string, string | undefined];
        const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
        const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
        const match = new BlockList();
        match.addSubnet(addr, prefix, family);
        const client: NasClient = {
          name: c.name,
          secret: c.secret,
          requireMessageAuthenticator: c.require_message_authenticator,
          noSession: c.no_session,
        };
        // BlockList matches IPv4 sources against IPv4-mapped IPv6 rules too, so a raw /96 must
        // not outrank an IPv4 /32: compare IPv4 prefixes as the mapped /(96+n) they are.
        return { client, match, specificity: family === 'ipv4' ? 96 + prefix : prefix };
      })
      // The most specific entry wins, so one access point can differ from its subnet.
      .sort((a, b) => b.specificity - a.specificity);
  }

  /** The client this source address belongs to, if any. */
  find(address: string): NasClient | undefined {
    const ip = unmapIpv4(address);
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    return this.entries.find((e) => e.match.check(ip, family))?.client;
  }
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
export function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
