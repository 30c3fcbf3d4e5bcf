/**
 * A ChromeOS ONC file (Open Network Configuration, Chromium's components/onc/docs/onc_spec.md)
 * for the configured networks, to import at chrome://network. Pure: values in, JSON text out.
 *
 * What this relies on from the ONC spec:
 * - Top level (UnencryptedConfiguration type): Type "UnencryptedConfiguration",
 *   NetworkConfigurations, Certificates. Files end in .onc; the MIME type is application/x-onc.
 * - NetworkConfiguration: GUID (non-empty, stable between files for the same entity, so a
 *   second import updates instead of adding), Name, Type "WiFi", WiFi.
 * - WiFi: SSID (UTF-8; HexSSID derived from it), Security one of None | WEP-PSK | WEP-8021X |
 *   WPA-PSK | WPA-EAP, Passphrase (WPA-PSK), AutoConnect, HiddenSSID, EAP (WPA-EAP).
 *   There is no Security value for WPA3's SAE, so wpa3-personal has no ONC (chromeosSupports).
 * - EAP: Outer one of LEAP | EAP-AKA | EAP-FAST | EAP-TLS | EAP-TTLS | EAP-SIM | PEAP;
 *   Inner (PEAP, EAP-TTLS) one of Automatic | MD5 | MSCHAP | MSCHAPv2 | PAP | CHAP | GTC;
 *   Identity; AnonymousIdentity (PEAP, EAP-TTLS); SaveCredentials, which must be true when
 *   Identity is given; ServerCARefs (GUIDs in Certificates); UseSystemCAs (defaults to true:
 *   false keeps any publicly trusted CA from vouching for a rogue RADIUS server);
 *   DomainSuffixMatch (array, matched against the DNS names of the server certificate's
 *   subjectAltName); ClientCertType one of PKCS11Id | Pattern | Ref | None, with ClientCertRef for Ref.
 *   No Password: without one ChromeOS asks for it, and the file never holds a secret of the user's.
 * - Certificate: GUID, Type one of Client | Server | Authority; X509 for Authority (the spec's
 *   examples carry the base64 of the DER without PEM armour, as written here); PKCS12 for
 *   Client, base64, whose passphrase must be empty (the spec leaves protection to the transport).
 * - Any GUID referred to must be defined in the same file.
 */
import { createHash } from 'node:crypto';
import forge from 'node-forge';
import type { WifiConfig } from '../config/load.js';
import { derivedUuid } from './payload-uuid.js';

/** The MIME type the ONC spec gives for .onc files. */
export const ONC_TYPE = 'application/x-onc';

/** The networks ChromeOS can be given in ONC: WPA3-Personal (SAE) has no WiFi.Security value. */
export function chromeosSupports(network: Pick<WifiConfig, 'security'>): boolean {
  return network.security !== 'wpa3-personal';
}

/** What the ONC file holds beside the networks' settings. */
export interface OncContext {
  /** The gateway CA's certificate (DER): the only anchor ChromeOS may accept for the RADIUS server. */
  readonly caDer: Buffer;
  /** Key for the stable GUIDs (uuidKeyFromCaKey), so a second import replaces the first. */
  readonly guidKey: Buffer;
  /** The person the device belongs to: the EAP identity (PEAP/TTLS ask the password on the device). */
  readonly user: string;
  /** The device's EAP-TLS identity as PKCS#12 with an empty passphrase; required for eap-tls. */
  readonly clientPkcs12?: Buffer;
}

type Json = string | number | boolean | readonly Json[] | { readonly [key: string]: Json };

/** The ONC document (UnencryptedConfiguration) for these networks, as JSON text. */
export function buildOnc(networks: readonly WifiConfig[], context: OncContext): string {
  const unsupported = networks.find((n) => !chromeosSupports(n));
  if (unsupported) throw new Error(`Wi-Fi network ${JSON.stringify(unsupported.ssid)}: ${unsupported.security} has no ChromeOS ONC (no SAE in WiFi.Security)`);
  const caGuid = guid(context.guidKey, 'authority', context.caDer);
  const needsClient = networks.some((n) => n.security === 'eap-tls');
  const certificates: Json[] = [{ GUID: caGuid, Type: 'Authority', X509: context.caDer.toString('base64') }];
  let clientGuid: string | undefined;
  if (needsClient) {
    if (!context.clientPkcs12) throw new Error('an eap-tls network needs the device\'s PKCS#12 (clientPkcs12)');
    assertEmptyPassphrase(context.clientPkcs12);
    clientGuid = guid(context.guidKey, 'client', context.clientPkcs12);
    certificates.push({ GUID: clientGuid, Type: 'Client', PKCS12: context.clientPkcs12.toString('base64') });
  }
  const onc = {
    Type: 'UnencryptedConfiguration',
    NetworkConfigurations: networks.map((n) => ({
      GUID: guid(context.guidKey, 'network', Buffer.from(n.ssid, 'utf8')),
      Name: n.ssid,
      Type: 'WiFi',
      WiFi: { SSID: n.ssid, HiddenSSID: n.hidden, AutoConnect: n.auto_join, ...security(n, context.user, caGuid, clientGuid) },
    })),
    Certificates: certificates,
  };
  return `${JSON.stringify(onc, null, 2)}\n`;
}

/** A GUID that stays the same for the same entity (network by SSID, certificate by its bytes). */
function guid(key: Buffer, kind: string, bytes: Buffer): string {
  return `{${derivedUuid(key, `chromeos-onc ${kind} ${createHash('sha256').update(bytes).digest('hex')}`).toLowerCase()}}`;
}

function security(network: WifiConfig, user: string, caGuid: string, clientGuid: string | undefined): { readonly [key: string]: Json } {
  switch (network.security) {
    case 'open':
      return { Security: 'None' };
    case 'wpa2-personal':
      if (!network.password) throw new Error(`Wi-Fi network ${JSON.stringify(network.ssid)} (wpa2-personal) has no pre-shared key`);
      return { Security: 'WPA-PSK', Passphrase: network.password };
    case 'eap-peap':
    case 'eap-ttls':
    case 'eap-tls':
      return { Security: 'WPA-EAP', EAP: eap(network, network.security, user, caGuid, clientGuid) };
    case 'wpa3-personal':
      throw new Error('unreachable: chromeosSupports');
  }
}

function eap(network: WifiConfig, method: 'eap-peap' | 'eap-ttls' | 'eap-tls', user: string, caGuid: string, clientGuid: string | undefined): { readonly [key: string]: Json } {
  const pinned = {
    Identity: user,
    SaveCredentials: true,
    // Pin the RADIUS server as the Apple and Windows profiles do: our CA only, and one of the names.
    ServerCARefs: [caGuid],
    UseSystemCAs: false,
    // A suffix match on "radius.example.org" also takes its subdomains; a configured "*.example.org" becomes "example.org".
    DomainSuffixMatch: (network.server_names ?? []).map((n) => n.replace(/^\*\./, '')),
  };
  if (method === 'eap-tls') {
    if (clientGuid === undefined) throw new Error('unreachable: buildOnc adds the client certificate for eap-tls');
    return { Outer: 'EAP-TLS', ...pinned, ClientCertType: 'Ref', ClientCertRef: clientGuid };
  }
  const inner = method === 'eap-ttls' && network.ttls_inner === 'pap' ? 'PAP' : 'MSCHAPv2';
  return {
    Outer: method === 'eap-peap' ? 'PEAP' : 'EAP-TTLS',
    Inner: inner,
    ...(network.outer_identity !== undefined ? { AnonymousIdentity: network.outer_identity } : {}),
    ...pinned,
  };
}

/** The ONC spec requires an empty PKCS#12 passphrase; one with a password would fail only on the Chromebook. */
function assertEmptyPassphrase(p12: Buffer): void {
  try {
    forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), false, '');
  } catch (err) {
    throw new Error('the device\'s PKCS#12 does not open with an empty passphrase, which ONC requires', { cause: err });
  }
}
