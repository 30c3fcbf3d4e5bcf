import { isIP } from 'node:net';
import { EXAMPLE_REVOCATION_HOSTS } from '../config/schema.js';

/**
 * The walled garden: what a device that is not enrolled yet must reach from the
 * registration network, so that it can enroll and so that its push channel (which
 * MDM agents and iOS rely on) is up when it does. Pure: the configuration in, a
 * list of entries out. The firewall renderers (nftables.ts, iptables.ts), the
 * `enrollgate ports` command and the portal's walled-garden page all read this
 * one list.
 */

export type Protocol = 'tcp' | 'udp';

/**
 * open: the firewall renderers open it; informational: listed so that nobody opens
 * it by mistake for phones; retired: a service the vendor switched off, opened only
 * when asked for (walled_garden.include_retired_apns); optional: useful, opened only
 * when asked for (walled_garden.certificate_checks.enabled).
 */
export type EntryStatus = 'open' | 'informational' | 'retired' | 'optional';

/** One thing devices must reach: a service, its ports, where it is and why. */
export interface GardenEntry {
  /** Stable, kebab-case: the JSON output and nftables set names use it. */
  readonly id: string;
  readonly service: string;
  readonly status: EntryStatus;
  /** Whether firewall rules are written for it (status open, or retired and asked for). */
  readonly open: boolean;
  readonly protocols: readonly Protocol[];
  readonly ports: readonly number[];
  /** IPv4 and IPv6 addresses and networks. */
  readonly cidrs: readonly string[];
  /** Host names; `*.example.com` is the domain's subdomains. A packet filter cannot match them. */
  readonly hostnames: readonly string[];
  readonly why: string;
  /** Where the facts come from: a vendor page, or the configuration keys. */
  readonly source: string;
}

export interface WalledGarden {
  /** Where unenrolled devices send from (walled_garden.registration_networks); empty: not configured. */
  readonly registrationNetworks: readonly string[];
  readonly entries: readonly GardenEntry[];
  /** What is missing from the configuration for the list to be complete. */
  readonly warnings: readonly string[];
}

/** The parts of the configuration the walled garden depends on (the validated config has them all). */
export interface WalledGardenConfig {
  readonly walled_garden: {
    readonly portal_addresses: readonly string[];
    readonly dns_servers: readonly string[];
    readonly registration_networks: readonly string[];
    readonly apns_ipv4: 'apple-network' | 'apns-ranges';
    readonly include_retired_apns: boolean;
    readonly certificate_checks: {
      readonly enabled: boolean;
      readonly revocation_hosts: readonly string[];
      readonly ntp_servers: readonly string[];
    };
  };
  readonly portal: {
    readonly base_url: string;
    readonly http: { readonly host: string; readonly port: number };
    readonly https: { readonly host: string; readonly port: number };
  };
  readonly android: { readonly agent?: { readonly url?: string | undefined } | undefined };
}

// Apple support article 102266 (formerly HT203609), "If your Apple devices aren't getting
// Apple push notifications": APNs load-balances, so allow all of Apple's 17.0.0.0/8; a
// network that cannot allow the whole block may allow these ranges instead.
export const APPLE_NETWORK = '17.0.0.0/8';
export const APNS_IPV4_RANGES = ['17.249.0.0/16', '17.252.0.0/16', '17.57.144.0/22', '17.188.128.0/18', '17.188.20.0/23'] as const;
export const APNS_IPV6_RANGES = ['2620:149:a44::/48', '2403:300:a42::/48', '2403:300:a51::/48', '2a01:b740:a42::/48'] as const;
const APPLE_SOURCE = 'Apple support article 102266 (formerly HT203609)';

// Firebase, "Configure your network for FCM" (firebase.google.com/docs/cloud-messaging/network-configuration):
// the host names for hostname-based filtering. Google publishes no IP list for them.
export const FCM_HOSTNAMES = [
  'mtalk.google.com',
  'mtalk4.google.com',
  'mtalk-staging.google.com',
  'mtalk-dev.google.com',
  ...Array.from({ length: 8 }, (_, i) => `alt${i + 1}-mtalk.google.com`),
  'android.apis.google.com',
  'device-provisioning.googleapis.com',
  'firebaseinstallations.googleapis.com',
] as const;

// PacketFence's passthroughs for provisioning Android devices from the Play Store.
export const PLAY_STORE_HOSTNAMES = [
  'play.google.com',
  'android.clients.google.com',
  '*.gvt1.com',
  '*.ggpht.com',
  '*.googleusercontent.com',
  '*.gstatic.com',
  '*.googleapis.com',
] as const;

/** The walled garden for this configuration. */
export function walledGarden(config: WalledGardenConfig): WalledGarden {
  const wg = config.walled_garden;
  const warnings: string[] = [];
  const base = new URL(config.portal.base_url);
  const baseHost = base.hostname.replace(/^\[|\]$/g, '');
  const portalAddresses = portalAddressesOf(config, baseHost);
  if (portalAddresses.length === 0) {
    const listed = isIP(baseHost) === 0 ? `the portal is listed by its name ${baseHost} only` : 'nothing is opened for the portal';
    warnings.push(`walled_garden.portal_addresses: empty, and neither portal.base_url nor the listeners give a reachable address; ${listed}`);
  }
  if (wg.dns_servers.length === 0) {
    warnings.push('walled_garden.dns_servers: empty; list the DNS servers DHCP gives devices that are not enrolled');
  }
  if (wg.registration_networks.length === 0) {
    warnings.push('walled_garden.registration_networks: empty, so the firewall rules cannot be limited to devices that are not enrolled');
  }
  const appleIpv4 = wg.apns_ipv4 === 'apple-network' ? [APPLE_NETWORK] : [...APNS_IPV4_RANGES];
  const apple = [...appleIpv4, ...APNS_IPV6_RANGES];
  const basePort = Number(base.port) || (base.protocol === 'https:' ? 443 : 80);

  const entries: GardenEntry[] = [
    entry({
      id: 'portal',
      service: 'enrollgate portal',
      protocols: ['tcp'],
      ports: [config.portal.http.port, config.portal.https.port, basePort],
      cidrs: portalAddresses,
      hostnames: isIP(baseHost) === 0 ? [baseHost] : [],
      why: 'its pages, the root certificate and profiles; captive browsers are sent here',
      source: 'config: walled_garden.portal_addresses, portal.base_url, portal.http/https.port',
    }),
    entry({
      id: 'dns',
      service: 'DNS',
      protocols: ['udp', 'tcp'],
      ports: [53],
      cidrs: wg.dns_servers,
      why: 'every other entry needs a name lookup first (TCP for large answers)',
      source: 'config: walled_garden.dns_servers',
    }),
    entry({
      id: 'apple-apns',
      service: 'Apple push (APNs), devices',
      protocols: ['tcp'],
      ports: [5223, 443],
      cidrs: apple,
      why: 'the push connection of iPhones and iPads: 5223; 443 at activation and as fallback',
      source: APPLE_SOURCE,
    }),
    entry({
      id: 'google-fcm',
      service: 'Google push (FCM), Android devices',
      protocols: ['tcp'],
      ports: [5228, 5229, 5230, 443],
      hostnames: FCM_HOSTNAMES,
      why: 'the push connection of Google Play services: 5228-5230; 443 as fallback; no IP list',
      source: 'Firebase, "Configure your network for FCM"',
    }),
    entry({
      id: 'google-play',
      service: 'Google Play Store',
      protocols: ['tcp'],
      // Not 80: Android's captive-portal probes (http://connectivitycheck.gstatic.com/generate_204)
      // must keep landing on the portal, or the phone believes it is online.
      ports: [443],
      hostnames: PLAY_STORE_HOSTNAMES,
      why: 'installing the agent; HTTPS only, so that captive probes on port 80 still reach the portal',
      source: "PacketFence's Play Store passthroughs",
    }),
    ...agentEntry(config.android.agent?.url),
    ...certificateCheckEntries(wg.certificate_checks, warnings),
    entry({
      id: 'apple-apns-provider',
      service: 'APNs provider API',
      status: 'informational',
      protocols: ['tcp'],
      ports: [443, 2197],
      hostnames: ['api.push.apple.com'],
      why: 'servers sending notifications, never phones',
      source: APPLE_SOURCE,
    }),
    // RETIRED: Apple switched the binary provider API (2195 gateway, 2196 feedback) off on
    // 31 March 2021 (article 102266). Listed so that nobody opens it out of habit; only
    // walled_garden.include_retired_apns opens it, for an old MDM server on this network.
    entry({
      id: 'apple-apns-legacy',
      service: 'APNs legacy binary API (gateway 2195, feedback 2196)',
      status: 'retired',
      open: wg.include_retired_apns,
      protocols: ['tcp'],
      ports: [2195, 2196],
      cidrs: apple,
      hostnames: ['gateway.push.apple.com', 'feedback.push.apple.com'],
      why: `retired by Apple on 31 March 2021, servers only (walled_garden.include_retired_apns${wg.include_retired_apns ? ' is on' : ''})`,
      source: APPLE_SOURCE,
    }),
  ];
  return { registrationNetworks: unique(wg.registration_networks), entries, warnings };
}

/** The address family of an address or CIDR (4 or 6), 0 when it is neither. */
export function familyOf(cidr: string): 0 | 4 | 6 {
  return isIP(cidr.split('/')[0] ?? '') as 0 | 4 | 6;
}

type EntryInput = Omit<GardenEntry, 'status' | 'open' | 'cidrs' | 'hostnames'> &
  Partial<Pick<GardenEntry, 'status' | 'open' | 'cidrs' | 'hostnames'>>;

function entry(e: EntryInput): GardenEntry {
  const status = e.status ?? 'open';
  return {
    id: e.id,
    service: e.service,
    status,
    open: e.open ?? status === 'open',
    protocols: e.protocols,
    ports: unique(e.ports),
    cidrs: unique(e.cidrs ?? []),
    hostnames: unique(e.hostnames ?? []),
    why: e.why,
    source: e.source,
  };
}

/** The agent's download host, when android.agent.url points outside the portal. */
function agentEntry(url: string | undefined): GardenEntry[] {
  if (url === undefined) return [];
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const ip = isIP(host) !== 0;
  return [
    entry({
      id: 'agent-download',
      service: 'Android agent download',
      protocols: ['tcp'],
      ports: [Number(u.port) || (u.protocol === 'https:' ? 443 : 80)],
      cidrs: ip ? [host] : [],
      hostnames: ip ? [] : [host],
      why: 'the link on the Android agent page',
      source: 'config: android.agent.url',
    }),
  ];
}

// RFC 8908 §4.1 (server authentication): "a captive network could permit connections to OCSP
// responders or Certificate Revocation Lists (CRLs) that are referenced by certificates provided
// by the API server" and "SHOULD also permit connections to Network Time Protocol (NTP) servers".
const RFC8908_SOURCE = 'RFC 8908 §4.1 (server authentication)';

/**
 * What devices need to check the portal's certificate before they are enrolled: its
 * issuers' OCSP responders and CRLs (HTTP, RFC 6960 and RFC 5280 §4.2.1.13), and the
 * time (NTP, RFC 5905). Listed always, opened only with walled_garden.certificate_checks.enabled:
 * the hosts depend on the certificate, and each one opened is a way out of the garden.
 */
function certificateCheckEntries(checks: WalledGardenConfig['walled_garden']['certificate_checks'], warnings: string[]): GardenEntry[] {
  const on = checks.enabled;
  const key = 'walled_garden.certificate_checks';
  if (on && sameList(checks.revocation_hosts, EXAMPLE_REVOCATION_HOSTS)) {
    warnings.push(`${key}.revocation_hosts: the examples; list your portal certificate's OCSP and CRL hosts`);
  }
  // Closed, the entry says what opens it.
  const opensWith = on ? '' : ` (${key}.enabled)`;
  const split = (hosts: readonly string[]) => ({ cidrs: hosts.filter((h) => isIP(h) !== 0), hostnames: hosts.filter((h) => isIP(h) === 0) });
  return [
    entry({
      id: 'certificate-revocation',
      service: 'OCSP and CRLs',
      status: 'optional',
      open: on,
      protocols: ['tcp'],
      ports: [80],
      ...split(checks.revocation_hosts),
      // Plain HTTP: a host sharing addresses with a captive probe's (Google's) would let the probe past the portal.
      why: `devices check that the portal's certificate is not revoked${opensWith}`,
      source: `${RFC8908_SOURCE}; config: ${key}.revocation_hosts`,
    }),
    entry({
      id: 'ntp',
      service: 'NTP (time)',
      status: 'optional',
      open: on,
      protocols: ['udp'],
      ports: [123],
      ...split(checks.ntp_servers),
      why: `certificates cannot be checked without the right time${opensWith}`,
      source: `${RFC8908_SOURCE}; config: ${key}.ntp_servers`,
    }),
  ];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Where devices reach the portal: walled_garden.portal_addresses; else the base URL's
 * host when it is an address; else the listeners' addresses that a device can reach
 * (not 0.0.0.0, :: or loopback).
 */
function portalAddressesOf(config: WalledGardenConfig, baseHost: string): string[] {
  if (config.walled_garden.portal_addresses.length > 0) return unique(config.walled_garden.portal_addresses);
  if (isIP(baseHost) !== 0 && !unreachable(baseHost)) return [baseHost];
  return unique([config.portal.http.host, config.portal.https.host].filter((h) => !unreachable(h)));
}

function unreachable(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || ip === '::1' || ip.startsWith('127.');
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
