/**
 * An Android Passpoint (Hotspot 2.0 Release 1) profile: the file Chrome on Android hands to
 * the system's Wi-Fi installer when it is served as application/x-wifi-config. Pure: the
 * provider's settings and the device's credential in, the HTTP body out.
 *
 * What this relies on (source.android.com "Passpoint R1"; AOSP's installer
 * android.net.wifi.hotspot2.ConfigParser, the PPS MO reader omadm/PpsMoParser and the
 * validate() rules of pps/HomeSp, pps/Credential and PasspointConfiguration; docs/passpoint.md):
 * - The body is the base64 of a MIME message whose own headers are exactly
 *   `Content-Type: multipart/mixed; boundary=…` and `Content-Transfer-Encoding: base64`.
 *   Every part has exactly those two headers (older installers refuse any other), a type of
 *   application/x-passpoint-profile (required), application/x-x509-ca-cert or
 *   application/x-pkcs12, and a base64 body; the last boundary ends with `--`.
 * - The profile part is an OMA-DM MgmtTree: VerDTD 1.2, one Node PerProviderSubscription
 *   with the DDF name urn:wfa:mo:hotspot2dot0-perprovidersubscription:1.0, one instance i001
 *   with HomeSP (FriendlyName, FQDN, RoamingConsortiumOI as comma-separated hex) and
 *   Credential (Realm, DigitalCertificate: CertificateType x509v3 and CertSHA256Fingerprint,
 *   the hex SHA-256 of the client certificate's DER). A node has a value or children, never
 *   both; sibling names are unique.
 * - The CA part is one DER certificate; a Release 1 profile without it is refused.
 * - The PKCS#12 opens with an empty password and holds exactly one key entry; the
 *   fingerprint must be that of a certificate in its chain.
 * - HomeSp: FQDN and FriendlyName non-empty and at most 255 bytes; at most 36 OIs, each
 *   within 40 bits. Credential: a realm of 1 to 253 bytes, one kind of credential only.
 */
import { createHash, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/** The Content-Type Chrome on Android answers by starting the Wi-Fi installer (never with Content-Disposition). */
export const WIFI_CONFIG_TYPE = 'application/x-wifi-config';

/** The home service provider, as configured (passpoint.*). */
export interface PasspointProvider {
  /** HomeSP FQDN: also the domain the phone requires in the RADIUS server's certificate. */
  readonly fqdn: string;
  readonly friendlyName: string;
  /** The NAI realm of the credential. */
  readonly realm: string;
  /** Hex strings of 3 or 5 octets. */
  readonly roamingConsortiumOis: readonly string[];
}

/** The device's EAP-TLS credential and the CA that anchors the RADIUS server. */
export interface PasspointCredential {
  /** The gateway CA's certificate (DER). */
  readonly caDer: Buffer;
  /** The device's key, certificate and CA, with an empty password (pkcs12WithoutPassword). */
  readonly clientPkcs12: Buffer;
  /** The device certificate (PEM or DER) whose SHA-256 the profile names. */
  readonly clientCertificate: string | Buffer;
}

const MAX_STRING_BYTES = 255;
const MAX_REALM_BYTES = 253;
const MAX_OIS = 36;
const OI = /^([0-9A-Fa-f]{6}|[0-9A-Fa-f]{10})$/;
const PPS_MO_URN = 'urn:wfa:mo:hotspot2dot0-perprovidersubscription:1.0';

/** Builds the body of the download (base64 text, lines of 76 characters, RFC 2045 §6.8). */
export function buildPasspointProfile(provider: PasspointProvider, credential: PasspointCredential): string {
  checkProvider(provider);
  const clientDer = new X509Certificate(credential.clientCertificate).raw;
  checkPkcs12(credential.clientPkcs12, clientDer);
  new X509Certificate(credential.caDer); // throws on anything that is not one certificate
  const fingerprint = createHash('sha256').update(clientDer).digest('hex');
  const boundary = `enrollgate-${createHash('sha256').update(clientDer).digest('hex').slice(0, 24)}`;
  const parts: Array<[string, Buffer]> = [
    ['application/x-passpoint-profile', Buffer.from(ppsMo(provider, fingerprint), 'utf8')],
    ['application/x-x509-ca-cert', credential.caDer],
    ['application/x-pkcs12', credential.clientPkcs12],
  ];
  const lines = ['Content-Type: multipart/mixed; boundary=' + boundary, 'Content-Transfer-Encoding: base64', ''];
  for (const [type, body] of parts) lines.push(`--${boundary}`, `Content-Type: ${type}`, 'Content-Transfer-Encoding: base64', '', ...wrapped(body));
  lines.push(`--${boundary}--`, '');
  return `${wrapped(Buffer.from(lines.join('\r\n'), 'utf8')).join('\r\n')}\r\n`;
}

/** The PPS MO (PerProviderSubscription management object) as OMA-DM XML. */
function ppsMo(p: PasspointProvider, fingerprintHex: string): string {
  const leaf = (name: string, value: string) => `<Node><NodeName>${name}</NodeName><Value>${xmlText(value)}</Value></Node>`;
  const node = (name: string, ...children: string[]) => `<Node><NodeName>${name}</NodeName>${children.join('')}</Node>`;
  const homeSp = node(
    'HomeSP',
    leaf('FriendlyName', p.friendlyName),
    leaf('FQDN', p.fqdn),
    ...(p.roamingConsortiumOis.length > 0 ? [leaf('RoamingConsortiumOI', p.roamingConsortiumOis.map((o) => o.toLowerCase()).join(','))] : []),
  );
  const credential = node('Credential', leaf('Realm', p.realm), node('DigitalCertificate', leaf('CertificateType', 'x509v3'), leaf('CertSHA256Fingerprint', fingerprintHex)));
  return (
    '<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>' +
    `<Node><NodeName>PerProviderSubscription</NodeName><RTProperties><Type><DDFName>${PPS_MO_URN}</DDFName></Type></RTProperties>` +
    `${node('i001', homeSp, credential)}</Node></MgmtTree>\n`
  );
}

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function wrapped(bytes: Buffer): string[] {
  return bytes.toString('base64').match(/.{1,76}/g) ?? [];
}

/** The rules Android's HomeSp and Credential validate() apply to what the config gives. */
function checkProvider(p: PasspointProvider): void {
  const bytes = (v: string) => Buffer.byteLength(v, 'utf8');
  if (p.fqdn.trim() === '' || bytes(p.fqdn) > MAX_STRING_BYTES) throw new RangeError(`Passpoint FQDN ${JSON.stringify(p.fqdn)}: must be 1 to ${MAX_STRING_BYTES} bytes`);
  if (p.friendlyName.trim() === '' || bytes(p.friendlyName) > MAX_STRING_BYTES) throw new RangeError(`Passpoint friendly name ${JSON.stringify(p.friendlyName)}: must be 1 to ${MAX_STRING_BYTES} bytes`);
  if (p.realm.trim() === '' || bytes(p.realm) > MAX_REALM_BYTES) throw new RangeError(`Passpoint realm ${JSON.stringify(p.realm)}: must be 1 to ${MAX_REALM_BYTES} bytes`);
  if (p.roamingConsortiumOis.length > MAX_OIS) throw new RangeError(`Passpoint: ${p.roamingConsortiumOis.length} roaming consortium OIs, Android takes at most ${MAX_OIS}`);
  const bad = p.roamingConsortiumOis.find((o) => !OI.test(o));
  if (bad !== undefined) throw new RangeError(`Passpoint roaming consortium OI ${JSON.stringify(bad)}: must be 3 or 5 octets in hexadecimal`);
}

/** ConfigParser's PKCS#12 rules: opens with an empty password, one key, the client certificate in it. */
function checkPkcs12(p12: Buffer, clientDer: Buffer): void {
  const opened = openWithEmptyPassword(p12);
  const { keyBag, pkcs8ShroudedKeyBag, certBag } = forge.pki.oids as Record<string, string>;
  const keys = [keyBag!, pkcs8ShroudedKeyBag!].flatMap((t) => opened.getBags({ bagType: t })[t] ?? []);
  if (keys.length !== 1) throw new RangeError(`the device's PKCS#12 holds ${keys.length} keys; Android's Passpoint installer wants exactly one`);
  const certs = (opened.getBags({ bagType: certBag! })[certBag!] ?? []).map((b) => Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(b.cert!)).getBytes(), 'binary'));
  if (!certs.some((c) => c.equals(clientDer))) throw new RangeError('the device\'s PKCS#12 does not hold the certificate the profile names');
}

/**
 * RFC 7292 §B.1 writes an empty password as no bytes or as one 16-bit NUL; Java's PKCS#12
 * store (on Android) and OpenSSL accept a MAC made with either, so this does too.
 */
export function openWithEmptyPassword(p12: Buffer): forge.pkcs12.Pkcs12Pfx {
  const asn1 = () => forge.asn1.fromDer(p12.toString('binary'));
  try {
    return forge.pkcs12.pkcs12FromAsn1(asn1(), true, null as unknown as string);
  } catch {
    try {
      return forge.pkcs12.pkcs12FromAsn1(asn1(), true, '');
    } catch (cause) {
      throw new RangeError('the device\'s PKCS#12 does not open with an empty password, which Android\'s Passpoint installer uses', { cause });
    }
  }
}
