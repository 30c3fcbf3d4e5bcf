/**
 * Windows WLAN profiles (Microsoft's WLAN_profile schema, namespace
 * http://www.microsoft.com/networking/WLAN/profile/v1), one per network, for
 * `netsh wlan add profile filename=<file> user=current`. The 802.1X part is the OneX schema
 * (http://www.microsoft.com/networking/OneX/v1) holding an EapHostConfig with the method's
 * own properties (MsPeap, EapTtls, EapTls). Pure: values in, XML text out; every text and
 * attribute goes through the escaping writer below, nothing is concatenated unescaped.
 *
 * The RADIUS server is pinned the way the Apple payload pins it: the gateway's CA by its
 * SHA-1 thumbprint (TrustedRootCA / TrustedRootCAHash) and the configured server names, with
 * the prompt to trust another server switched off.
 */
import { createHash } from 'node:crypto';
import type { WifiConfig } from '../config/load.js';

const WLAN_NS = 'http://www.microsoft.com/networking/WLAN/profile/v1';
const ONEX_NS = 'http://www.microsoft.com/networking/OneX/v1';
const EAPHOST_NS = 'http://www.microsoft.com/provisioning/EapHostConfig';
const EAPCOMMON_NS = 'http://www.microsoft.com/provisioning/EapCommon';
const BASE_EAP_NS = 'http://www.microsoft.com/provisioning/BaseEapConnectionPropertiesV1';
const PEAP_NS = 'http://www.microsoft.com/provisioning/MsPeapConnectionPropertiesV1';
const PEAP_V2_NS = 'http://www.microsoft.com/provisioning/MsPeapConnectionPropertiesV2';
const MSCHAPV2_NS = 'http://www.microsoft.com/provisioning/MsChapV2ConnectionPropertiesV1';
const TTLS_NS = 'http://www.microsoft.com/provisioning/EapTtlsConnectionPropertiesV1';
const TLS_NS = 'http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV1';
const TLS_V2_NS = 'http://www.microsoft.com/provisioning/EapTlsConnectionPropertiesV2';

/** An element: its name, an xmlns when it opens a namespace, and text or child elements. */
interface Element {
  readonly name: string;
  readonly ns?: string;
  readonly children?: readonly Element[];
  readonly text?: string;
}

const el = (name: string, content: string | readonly Element[] = [], ns?: string): Element =>
  typeof content === 'string' ? { name, text: content, ...(ns ? { ns } : {}) } : { name, children: content, ...(ns ? { ns } : {}) };

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function write(e: Element, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const open = `${e.name}${e.ns ? ` xmlns="${escapeXml(e.ns)}"` : ''}`;
  if (e.text !== undefined) {
    out.push(`${pad}<${open}>${escapeXml(e.text)}</${e.name}>`);
  } else if (!e.children || e.children.length === 0) {
    out.push(`${pad}<${open}/>`);
  } else {
    out.push(`${pad}<${open}>`);
    for (const child of e.children) write(child, depth + 1, out);
    out.push(`${pad}</${e.name}>`);
  }
}

/**
 * A Windows device name (CON, NUL, COM1, …) before the first dot, trailing spaces aside: Windows
 * opens the device for such a file name, whatever its extension, and Chromium and Edge on
 * Windows therefore save a download so named with a "_" in front (net::GenerateSafeFileName).
 */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[1-9]|lpt[1-9]) *(\.|$)/i;

/**
 * "<ssid>.xml", the name the portal's netsh command uses and the browser saves the file under:
 * characters that are no trouble in a file name, a command line or the header; a device name
 * gets the "_" in front that the browser would give it, so that the command names the saved file.
 */
export function wlanFilename(ssid: string): string {
  const name = ssid.replace(/[^A-Za-z0-9 ._-]/g, '_').replace(/^[ .]+|[ .]+$/g, '');
  if (name === '') return 'wifi.xml';
  return `${WINDOWS_DEVICE.test(name) ? '_' : ''}${name}.xml`;
}

/**
 * The file name of each network's profile (wlanFilename), in the order given, none the same as
 * another's: different SSIDs can come out alike ("Café" and "Cafè", "Staff/1" and "Staff_1", or
 * "CON" and "con", one file on Windows, which ignores case), and the second download would be
 * saved as "Caf_ (1).xml" while its netsh line names "Caf_.xml", adding the first network twice
 * and the second never. The first keeps its name; a later one that repeats an earlier name
 * (ignoring case) gets "-2", "-3", … before ".xml", the first such name not taken.
 */
export function wlanFilenames(ssids: readonly string[]): string[] {
  const taken = new Set<string>();
  return ssids.map((ssid) => {
    const wanted = wlanFilename(ssid);
    let name = wanted;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${wanted.slice(0, -'.xml'.length)}-${n}.xml`;
    taken.add(name.toLowerCase());
    return name;
  });
}

/** The networks Windows can be given a profile for: WPA3-Personal (SAE) is not in the v1 schema's authentication values. */
export function windowsSupports(network: Pick<WifiConfig, 'security'>): boolean {
  return network.security !== 'wpa3-personal';
}

/** "ab cd ef …": the SHA-1 thumbprint of a DER certificate as the EAP properties want it. */
export function caThumbprint(caDer: Buffer): string {
  return createHash('sha1').update(caDer).digest('hex').match(/../g)!.join(' ');
}

/** What a profile refers to outside the network's settings. */
export interface WlanProfileContext {
  /** caThumbprint() of the gateway's CA: the only root Windows may accept for the RADIUS server. */
  readonly caThumbprint: string;
}

/** The WLANProfile document for one network (throws for a network Windows cannot be given: windowsSupports). */
export function buildWlanProfile(network: WifiConfig, context: WlanProfileContext): string {
  if (!windowsSupports(network)) throw new Error(`Wi-Fi network ${JSON.stringify(network.ssid)}: ${network.security} has no Windows WLAN profile (v1 schema)`);
  const ssid = Buffer.from(network.ssid, 'utf8');
  const profile = el(
    'WLANProfile',
    [
      el('name', network.ssid),
      el('SSIDConfig', [el('SSID', [el('hex', ssid.toString('hex').toUpperCase()), el('name', network.ssid)]), el('nonBroadcast', String(network.hidden))]),
      el('connectionType', 'ESS'),
      el('connectionMode', network.auto_join ? 'auto' : 'manual'),
      el('autoSwitch', 'false'),
      el('MSM', [el('security', security(network, context))]),
    ],
    WLAN_NS,
  );
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  write(profile, 0, out);
  return `${out.join('\n')}\n`;
}

function security(network: WifiConfig, context: WlanProfileContext): Element[] {
  switch (network.security) {
    case 'open':
      return [el('authEncryption', [el('authentication', 'open'), el('encryption', 'none'), el('useOneX', 'false')])];
    case 'wpa2-personal':
      if (!network.password) throw new Error(`Wi-Fi network ${JSON.stringify(network.ssid)} (wpa2-personal) has no pre-shared key`);
      return [
        el('authEncryption', [el('authentication', 'WPA2PSK'), el('encryption', 'AES'), el('useOneX', 'false')]),
        el('sharedKey', [el('keyType', 'passPhrase'), el('protected', 'false'), el('keyMaterial', network.password)]),
      ];
    case 'eap-peap':
    case 'eap-ttls':
    case 'eap-tls':
      return [
        el('authEncryption', [el('authentication', 'WPA2'), el('encryption', 'AES'), el('useOneX', 'true')]),
        // Windows keeps one PMK per AP and roams without a full EAP exchange.
        el('PMKCacheMode', 'enabled'),
        el('OneX', [el('cacheUserData', 'true'), el('authMode', 'user'), el('EAPConfig', [eapHostConfig(network, network.security, context)])], ONEX_NS),
      ];
    case 'wpa3-personal':
      throw new Error('unreachable: windowsSupports');
  }
}

/** EapMethod: the IANA type and the author of the method's Windows implementation (0: Microsoft's built-in, 311: Microsoft's TTLS). */
function eapMethod(type: number, authorId: number): Element {
  const common = (name: string, value: number) => el(name, String(value), EAPCOMMON_NS);
  return el('EapMethod', [common('Type', type), common('VendorId', 0), common('VendorType', 0), common('AuthorId', authorId)]);
}

function serverNames(network: WifiConfig): string {
  // The method properties take several names separated by ";".
  return (network.server_names ?? []).join(';');
}

function eapHostConfig(network: WifiConfig, method: 'eap-peap' | 'eap-ttls' | 'eap-tls', context: WlanProfileContext): Element {
  switch (method) {
    case 'eap-peap':
      return el(
        'EapHostConfig',
        [
          eapMethod(25, 0),
          el('Config', [
            el(
              'Eap',
              [
                el('Type', '25'),
                el(
                  'EapType',
                  [
                    el('ServerValidation', [el('DisableUserPromptForServerValidation', 'true'), el('ServerNames', serverNames(network)), el('TrustedRootCA', context.caThumbprint)]),
                    el('FastReconnect', 'true'),
                    el('InnerEapOptional', 'false'),
                    el('Eap', [el('Type', '26'), el('EapType', [el('UseWinLogonCredentials', 'false')], MSCHAPV2_NS)], BASE_EAP_NS),
                    el('EnableQuarantineChecks', 'false'),
                    el('RequireCryptoBinding', 'false'),
                    el('PeapExtensions', [el('PerformServerValidation', 'true', PEAP_V2_NS), el('AcceptServerName', 'true', PEAP_V2_NS)]),
                  ],
                  PEAP_NS,
                ),
              ],
              BASE_EAP_NS,
            ),
          ]),
        ],
        EAPHOST_NS,
      );
    case 'eap-ttls':
      return el(
        'EapHostConfig',
        [
          eapMethod(21, 311),
          el('Config', [
            el(
              'EapTtls',
              [
                el('ServerValidation', [el('ServerNames', serverNames(network)), el('TrustedRootCAHash', context.caThumbprint), el('DisablePrompt', 'true')]),
                el('Phase2Authentication', [network.ttls_inner === 'pap' ? el('PAPAuthentication') : el('MSCHAPv2Authentication', [el('UseWinlogonCredentials', 'false')])]),
                el('Phase1Identity', network.outer_identity ? [el('IdentityPrivacy', 'true'), el('AnonymousIdentity', network.outer_identity)] : [el('IdentityPrivacy', 'false')]),
              ],
              TTLS_NS,
            ),
          ]),
        ],
        EAPHOST_NS,
      );
    case 'eap-tls':
      return el(
        'EapHostConfig',
        [
          eapMethod(13, 0),
          el('Config', [
            el(
              'Eap',
              [
                el('Type', '13'),
                el(
                  'EapType',
                  [
                    // The device's certificate from the user's store (imported from the PKCS#12).
                    el('CredentialsSource', [el('CertificateStore', [el('SimpleCertSelection', 'true')])]),
                    el('ServerValidation', [el('DisableUserPromptForServerValidation', 'true'), el('ServerNames', serverNames(network)), el('TrustedRootCA', context.caThumbprint)]),
                    el('DifferentUsername', 'false'),
                    el('PerformServerValidation', 'true', TLS_V2_NS),
                    el('AcceptServerName', 'true', TLS_V2_NS),
                  ],
                  TLS_NS,
                ),
              ],
              BASE_EAP_NS,
            ),
          ]),
        ],
        EAPHOST_NS,
      );
  }
}
