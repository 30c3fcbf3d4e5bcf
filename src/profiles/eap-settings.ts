/**
 * A network's settings as a person enters them by hand (Android's "Add network" form without
 * an agent) or a command line writes them (NetworkManager, networkmanager.ts). Pure: the
 * configured network in, plain values out; the words around them live in the templates.
 */
import type { WifiConfig } from '../config/load.js';

/** What a settings form asks for one network. */
export interface ManualSettings {
  readonly ssid: string;
  readonly security: WifiConfig['security'];
  readonly hidden: boolean;
  /** EAP networks: the outer method as Android and NetworkManager name it. */
  readonly eap?: {
    readonly method: 'PEAP' | 'TTLS' | 'TLS';
    /** PEAP and TTLS: the inner ("phase 2") authentication. */
    readonly phase2?: 'MSCHAPV2' | 'PAP';
    /** The person's user name (Android's "Identity"). */
    readonly identity: string;
    /** PEAP and TTLS: the configured anonymous outer identity, when there is one. */
    readonly anonymousIdentity?: string;
    /** One domain the RADIUS server's certificate names must end in (Android's "Domain"). */
    readonly domain: string;
  };
  /** Personal networks: the pre-shared key. */
  readonly psk?: string;
}

/**
 * One DNS suffix every configured server name matches, for a form with one "Domain" field
 * (wpa_supplicant's domain_suffix_match, which Android's field sets): a single name as it is
 * ("*.example.org" becomes "example.org"), several by the labels they end in together,
 * else all of them joined with ";", which wpa_supplicant also takes.
 */
export function domainSuffix(serverNames: readonly string[]): string {
  const names = serverNames.map((n) => n.replace(/^\*\./, '').toLowerCase());
  if (names.length <= 1) return names[0] ?? '';
  const labels = names.map((n) => n.split('.').reverse());
  const common: string[] = [];
  for (let i = 0; labels.every((l) => l[i] !== undefined && l[i] === labels[0]![i]); i++) common.push(labels[0]![i]!);
  // A suffix of one label ("org") would let any server under that top-level domain through.
  return common.length >= 2 ? common.reverse().join('.') : names.join(';');
}

/** The settings of one configured network for the person `user`. */
export function manualSettings(network: WifiConfig, user: string): ManualSettings {
  const base = { ssid: network.ssid, security: network.security, hidden: network.hidden };
  switch (network.security) {
    case 'open':
      return base;
    case 'wpa2-personal':
    case 'wpa3-personal':
      return { ...base, ...(network.password !== undefined ? { psk: network.password } : {}) };
    case 'eap-peap':
    case 'eap-ttls':
    case 'eap-tls': {
      const method = network.security === 'eap-peap' ? 'PEAP' : network.security === 'eap-ttls' ? 'TTLS' : 'TLS';
      const phase2 = method === 'TLS' ? undefined : method === 'TTLS' && network.ttls_inner === 'pap' ? 'PAP' : 'MSCHAPV2';
      return {
        ...base,
        eap: {
          method,
          ...(phase2 ? { phase2 } : {}),
          identity: user,
          ...(method !== 'TLS' && network.outer_identity !== undefined ? { anonymousIdentity: network.outer_identity } : {}),
          domain: domainSuffix(network.server_names ?? []),
        },
      };
    }
  }
}
