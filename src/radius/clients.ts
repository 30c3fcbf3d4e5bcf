import { BlockList, isIP } from 'node:net';
import type { NasClientConfig, UamConfig } from '../config/load.js';
import { nasSubnet } from '../config/nas-address.js';

export type VendorProfile = NasClientConfig['profile'];

/** Where and how to send RFC 5176 packets to a router; absent when it is not enabled. */
export interface DynamicAuthorization {
  readonly address: string;
  readonly port: number;
  readonly onSession: 'coa' | 'disconnect';
  readonly timeoutMs: number;
  readonly retries: number;
}

/** A router (NAS) allowed to ask, as the RADIUS code needs it. */
export interface NasClient {
  readonly name: string;
  readonly secret: string;
  readonly requireMessageAuthenticator: boolean;
  readonly profile: VendorProfile;
  readonly noSession: NasClientConfig['no_session'];
  readonly withSession: NasClientConfig['with_session'];
  readonly dynamicAuthorization?: DynamicAuthorization;
  /** Present when the router sends browsers to the portal (CoovaChilli, MikroTik hotspot, openNDS): its kind and settings. */
  readonly uam?: UamConfig;
}

/** RFC 5176 §3: UDP 3799; Cisco WLCs (AireOS and 9800) listen on 1700 by default. */
function dynamicAuthorization(c: NasClientConfig): DynamicAuthorization | undefined {
  const da = c.dynamic_authorization;
  if (!da.enabled) return undefined;
  return {
    // The schema refuses `enabled` without an address for a CIDR client.
    address: da.address ?? c.address,
    port: da.port ?? (c.profile === 'cisco-wlc' ? 1700 : 3799),
    onSession: da.on_session ?? (c.profile === 'cisco-wlc' ? 'coa' : 'disconnect'),
    timeoutMs: da.timeout_ms,
    retries: da.retries,
  };
}

/** The NasClient for one configured router. */
export function nasClient(c: NasClientConfig): NasClient {
  const da = dynamicAuthorization(c);
  return {
    name: c.name,
    secret: c.secret,
    requireMessageAuthenticator: c.require_message_authenticator,
    profile: c.profile,
    noSession: c.no_session,
    withSession: c.with_session,
    ...(da ? { dynamicAuthorization: da } : {}),
    ...(c.uam ? { uam: c.uam } : {}),
  };
}

interface Entry {
  readonly client: NasClient;
  readonly match: BlockList;
  /** Prefix length on the IPv6 scale (an IPv4 /n is the IPv4-mapped /96+n), so both families compare. */
  readonly specificity: number;
}

/** The table's entries for the configured routers, the most specific first (one access point can differ from its subnet). */
function entriesOf(clients: readonly NasClientConfig[]): readonly Entry[] {
  return clients
    .map((c) => {
      // A raw IPv6 /96 must not outrank an IPv4 /32: nasSubnet's specificity compares both families.
      const { match, specificity } = nasSubnet(c.address);
      return { client: nasClient(c), match, specificity };
    })
    .sort((a, b) => b.specificity - a.specificity);
}

/** The NAS table: which source address speaks for which router. */
export class NasTable {
  private entries: readonly Entry[];

  constructor(clients: readonly NasClientConfig[]) {
    this.entries = entriesOf(clients);
  }

  /**
   * The routers of a reloaded config (radius.clients), in one step: the next packet is
   * checked against them (a router added is answered, a removed one dropped, a changed
   * secret verified). A request already past find() keeps the client it was found with.
   */
  replace(clients: readonly NasClientConfig[]): void {
    this.entries = entriesOf(clients);
    this.matched.clear();
  }

  /** Every configured router. */
  all(): NasClient[] {
    return this.entries.map((e) => e.client);
  }

  /** The router with this name. */
  byName(name: string): NasClient | undefined {
    return this.entries.find((e) => e.client.name === name)?.client;
  }

  /**
   * The UAM router a portal redirect names: the one whose UAM address is uamip (its
   * uam.address, else its openNDS gateway_address, else its RADIUS address or CIDR),
   * else the one named nasid. Either
   * way uamip must be that router's UAM address: the portal sends browsers (and
   * one-time logins) only there.
   */
  uamNas(uamip: string, nasid?: string): NasClient | undefined {
    const uamNases = this.entries.filter((e) => e.client.uam !== undefined);
    const byAddress = uamNases.find((e) => isUamAddress(e, uamip));
    if (byAddress) return byAddress.client;
    const byName = uamNases.find((e) => nasid !== undefined && e.client.name === nasid);
    return byName && isUamAddress(byName, uamip) ? byName.client : undefined;
  }

  /**
   * Source addresses already matched, and their client (null: none). BlockList.check
   * builds a SocketAddress per call and walks every entry: 3 % of a RADIUS answer
   * (bench:radius). Bounded, since spoofed sources are endless.
   */
  private readonly matched = new Map<string, NasClient | null>();

  /** The client this source address belongs to, if any. */
  find(address: string): NasClient | undefined {
    const known = this.matched.get(address);
    if (known !== undefined) return known ?? undefined;
    const ip = unmapIpv4(address);
    const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
    const client = this.entries.find((e) => e.match.check(ip, family))?.client;
    if (this.matched.size >= MATCHED_MAX) this.matched.clear();
    this.matched.set(address, client ?? null);
    return client;
  }
}

const MATCHED_MAX = 4096;

function isUamAddress(e: Entry, ip: string): boolean {
  if (isIP(ip) !== 4) return false;
  const configured = e.client.uam?.address ?? e.client.uam?.opennds?.gateway_address;
  return configured !== undefined ? configured === ip : e.match.check(ip, 'ipv4');
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d. */
export function unmapIpv4(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
