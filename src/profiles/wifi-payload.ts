/**
 * One com.apple.wifi.managed payload for one network of ios.wifi (Apple Device
 * Management, "WiFi"; docs/protocols.md, "Apple configuration profiles").
 * Pure: values in, a plist dictionary out.
 */
import type { PlistValue } from 'plist';
import type { WifiConfig } from '../config/load.js';

/** The EAP method numbers of AcceptEAPTypes (IANA "Extensible Authentication Protocol Numbers"). */
export const EAP_TYPE = { tls: 13, ttls: 21, peap: 25 } as const;

/** What the Wi-Fi payload refers to outside itself. */
export interface WifiPayloadContext {
  readonly identifier: string;
  readonly uuid: string;
  /** The person the device belongs to: the EAP user name (PEAP/TTLS ask the password on the device). */
  readonly user: string;
  /** PayloadUUID of the com.apple.security.root payload: the only anchor the device may trust for the RADIUS server. */
  readonly rootUuid: string;
  /** PayloadUUID of the com.apple.security.pkcs12 payload; required for eap-tls. */
  readonly identityUuid?: string;
}

/** The com.apple.wifi.managed dictionary for one network. */
export function wifiPayload(network: WifiConfig, context: WifiPayloadContext): { [key: string]: PlistValue } {
  return {
    PayloadType: 'com.apple.wifi.managed',
    PayloadVersion: 1,
    PayloadIdentifier: context.identifier,
    PayloadUUID: context.uuid,
    PayloadDisplayName: `Wi-Fi (${network.ssid})`,
    SSID_STR: network.ssid,
    HIDDEN_NETWORK: network.hidden,
    AutoJoin: network.auto_join,
    ...securityKeys(network, context),
  };
}

function securityKeys(network: WifiConfig, context: WifiPayloadContext): { [key: string]: PlistValue } {
  switch (network.security) {
    case 'open':
      return { EncryptionType: 'None' };
    case 'wpa2-personal':
      return { EncryptionType: 'WPA2', Password: requiredPassword(network) };
    case 'wpa3-personal':
      return { EncryptionType: 'WPA3', Password: requiredPassword(network) };
    case 'eap-peap':
    case 'eap-ttls':
    case 'eap-tls':
      return enterpriseKeys(network, network.security, context);
  }
}

/**
 * WPA2/WPA3 Enterprise. EncryptionType WPA2 rather than Any: these networks are
 * configured as WPA2 (or later) Enterprise, and a precise type keeps the device
 * from taking a same-named network with weaker security (WEP, WPA1) for this one.
 */
function enterpriseKeys(
  network: WifiConfig,
  security: 'eap-peap' | 'eap-ttls' | 'eap-tls',
  context: WifiPayloadContext,
): { [key: string]: PlistValue } {
  const eap: { [key: string]: PlistValue } = {
    AcceptEAPTypes: [eapType(security)],
    UserName: context.user,
    // Pin the RADIUS server: its certificate must chain to the gateway's root
    // (and only it) and carry one of these names, else the device refuses to send
    // credentials to a rogue access point.
    TLSTrustedServerNames: [...(network.server_names ?? [])],
    PayloadCertificateAnchorUUID: [context.rootUuid],
  };
  if (network.outer_identity !== undefined) eap.OuterIdentity = network.outer_identity;
  if (security === 'eap-ttls') eap.TTLSInnerAuthentication = network.ttls_inner === 'pap' ? 'PAP' : 'MSCHAPv2';
  const keys: { [key: string]: PlistValue } = { EncryptionType: 'WPA2', EAPClientConfiguration: eap };
  if (security === 'eap-tls') {
    if (context.identityUuid === undefined) throw new Error(`Wi-Fi network ${JSON.stringify(network.ssid)} uses eap-tls but no identity was given`);
    keys.PayloadCertificateUUID = context.identityUuid;
  }
  return keys;
}

function eapType(security: 'eap-peap' | 'eap-ttls' | 'eap-tls'): number {
  if (security === 'eap-peap') return EAP_TYPE.peap;
  if (security === 'eap-ttls') return EAP_TYPE.ttls;
  return EAP_TYPE.tls;
}

function requiredPassword(network: WifiConfig): string {
  // The schema requires it; a programming error elsewhere must not yield a profile without one.
  if (network.password === undefined || network.password === '') {
    throw new Error(`Wi-Fi network ${JSON.stringify(network.ssid)} (${network.security}) has no pre-shared key`);
  }
  return network.password;
}
