import type { Config, WifiConfig } from '../config/load.js';

/** One network the profile sets up, as the page after the profile tells it. */
export interface NetworkStep {
  readonly ssid: string;
  /** What the phone asks for when it joins the network the first time. */
  readonly asks: string;
}

/** What happens after the profile is installed: which networks to join, what the phone asks, and the daily cut-off. */
export interface NextSteps {
  readonly networks: readonly NetworkStep[];
  /** "04:00 local time (Europe/Berlin)", or "04:00 UTC". */
  readonly cutoff_text: string;
  /** What the next morning looks like on these networks. */
  readonly morning_text: string;
}

/**
 * What each kind of network asks when the phone joins it with the profile installed. The
 * profile (profiles/wifi-payload.ts) carries the pre-shared key, the person's user name
 * (UserName) and, for EAP-TLS, the device's certificate; it pins the RADIUS server to the
 * gateway's root and the configured names (PayloadCertificateAnchorUUID,
 * TLSTrustedServerNames), so no certificate prompt appears. It carries no password: EAP-TTLS
 * and PEAP ask for it once, and the phone keeps it.
 */
function asks(network: Pick<WifiConfig, 'security'>): string {
  switch (network.security) {
    case 'eap-tls':
      return 'It asks for nothing: the profile holds this device’s own certificate.';
    case 'eap-ttls':
    case 'eap-peap':
      return 'It asks for your work password once (your user name is already filled in), and remembers it.';
    case 'wpa2-personal':
    case 'wpa3-personal':
      return 'It asks for nothing: the profile holds the network password.';
    case 'open':
      return 'It asks for nothing.';
  }
}

/**
 * What the next morning is like. The session ends at the cut-off everywhere; what brings the
 * device back differs: on an 802.1X network with the device certificate, eap.next_morning
 * (renew: the gateway checks the owner in the directory and lets the device in; daily_login:
 * the portal asks for a login); with TTLS or PEAP the saved password is checked at every
 * connection; on the other networks the router sends the device to the portal's login page.
 */
function morning(config: Pick<Config, 'eap'>, networks: readonly Pick<WifiConfig, 'security'>[], device: string): string {
  const kinds = new Set(networks.map((n) => n.security));
  const certificateOnly = kinds.size === 1 && kinds.has('eap-tls');
  const passwordOnly = [...kinds].every((k) => k === 'eap-ttls' || k === 'eap-peap');
  if (certificateOnly && config.eap.next_morning === 'renew') return `The next morning the ${device} reconnects by itself, as long as you may still use the Wi-Fi.`;
  if (passwordOnly && kinds.size > 0) return `The next morning the ${device} reconnects by itself with the password it remembers. When you change your work password, it asks for the new one.`;
  return 'The next morning the Wi-Fi page opens again: log in with your work password to get online for the day.';
}

/**
 * The "what happens next" of the page that offers the Wi-Fi profile, from the configured
 * networks and the cut-off; `device` is what the text calls the device ("phone", "Mac").
 */
export function nextSteps(config: Pick<Config, 'ios' | 'session' | 'eap'>, device = 'phone'): NextSteps {
  return {
    networks: config.ios.wifi.map((n) => ({ ssid: n.ssid, asks: asks(n) })),
    cutoff_text: config.session.time_zone === 'UTC' ? `${config.session.daily_cutoff} UTC` : `${config.session.daily_cutoff} local time (${config.session.time_zone})`,
    morning_text: morning(config, config.ios.wifi, device),
  };
}
