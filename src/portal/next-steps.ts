import type { Config, WifiConfig } from '../config/load.js';
import type { Translator } from './languages/languages.js';

/** What the "next morning" text calls the device (next_steps.morning.* in views/locales). */
export type NextStepsDevice = 'phone' | 'mac' | 'pc' | 'computer' | 'chromebook';

/** One network the profile sets up, as the page after the profile tells it. */
export interface NetworkStep {
  readonly ssid: string;
  /** What the phone asks for when it joins the network the first time. */
  readonly asks: string;
}

/** What happens after the profile is installed: which networks to join, what the phone asks, and the daily cut-off. */
export interface NextSteps {
  readonly networks: readonly NetworkStep[];
  /** "04:00 local time (Europe/Berlin)", or "04:00 UTC", in the page's language. */
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
function asks(network: Pick<WifiConfig, 'security'>, words: Pick<Translator, 'text'>): string {
  switch (network.security) {
    case 'eap-tls':
      return words.text('next_steps.asks.eap_tls');
    case 'eap-ttls':
    case 'eap-peap':
      return words.text('next_steps.asks.password');
    case 'wpa2-personal':
    case 'wpa3-personal':
      return words.text('next_steps.asks.psk');
    case 'open':
      return words.text('next_steps.asks.open');
  }
}

/**
 * What the next morning is like. The session ends at the cut-off everywhere; what brings the
 * device back differs: on an 802.1X network with the device certificate, eap.next_morning
 * (renew: the gateway checks the owner in the directory and lets the device in; daily_login:
 * the portal asks for a login); with TTLS or PEAP the saved password is checked at every
 * connection; on the other networks the router sends the device to the portal's login page.
 */
function morning(config: Pick<Config, 'eap'>, networks: readonly Pick<WifiConfig, 'security'>[], device: NextStepsDevice, words: Pick<Translator, 'text'>): string {
  const kinds = new Set(networks.map((n) => n.security));
  const certificateOnly = kinds.size === 1 && kinds.has('eap-tls');
  const passwordOnly = [...kinds].every((k) => k === 'eap-ttls' || k === 'eap-peap');
  if (certificateOnly && config.eap.next_morning === 'renew') return words.text(`next_steps.morning.renew.${device}`);
  if (passwordOnly && kinds.size > 0) return words.text(`next_steps.morning.password.${device}`);
  return words.text('next_steps.morning.portal');
}

/**
 * The "what happens next" of the page that offers the Wi-Fi profile, from the configured
 * networks and the cut-off, in the page's words; `device` is what the text calls the device.
 */
export function nextSteps(config: Pick<Config, 'ios' | 'session' | 'eap'>, words: Pick<Translator, 'text'>, device: NextStepsDevice = 'phone'): NextSteps {
  const time = config.session.daily_cutoff;
  return {
    networks: config.ios.wifi.map((n) => ({ ssid: n.ssid, asks: asks(n, words) })),
    cutoff_text: config.session.time_zone === 'UTC' ? words.text('next_steps.cutoff_utc', { time }) : words.text('next_steps.cutoff_local', { time, zone: config.session.time_zone }),
    morning_text: morning(config, config.ios.wifi, device, words),
  };
}

/** What a network asks when the phone joins it, in the page's words (for a page that lists networks its own way). */
export function networkAsks(security: WifiConfig['security'], words: Pick<Translator, 'text'>): string {
  return asks({ security }, words);
}
