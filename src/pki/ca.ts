/**
 * The gateway's own certificate authority: a self-signed root that enrolled
 * devices install (through a profile or by hand) and a TLS server certificate
 * for the portal signed by it.
 *
 * Keys are generated natively (node:crypto) because node-forge's pure-JS RSA key
 * generation takes seconds; forge only builds the certificates, and the CA's RSA
 * signature is computed by OpenSSL too (native-rsa-signer.ts). Every
 * certificate is handed back as PEM re-read by node:crypto, so what leaves this
 * module has been parsed by OpenSSL at least once.
 *
 * Only `writeGatewayPki` touches the file system.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import forge from 'node-forge';
import { asForgeKey, nativeRsaSigner, type ForgeSigningKey } from './native-rsa-signer.js';
import { revocationExtensions, type RevocationUrls } from './revocation-urls.js';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

const CA_KEY_BITS = 3072;
const SERVER_KEY_BITS = 2048;
const CA_DEFAULT_DAYS = 3650;
// Apple rejects TLS server certificates valid for more than 825 days, even under
// a root the user installed ("Requirements for trusted certificates in iOS 13 and
// macOS 10.15", Apple HT210176). Android and browsers accept that too.
const SERVER_MAX_DAYS = 825;
// The signing certificate is issued anew at every start when none is configured,
// so a long life buys nothing; devices check it only when installing a profile.
const PROFILE_SIGNING_DAYS = 397;
const PROFILE_SIGNING_KEY_BITS = 2048;
// A phone that has just joined the Wi-Fi may not have synced its clock yet: a
// certificate issued "now" must not look not-yet-valid to a clock a little behind.
const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
// RFC 5280 §4.1.2.6 / ub-common-name in Appendix A.
export const MAX_COMMON_NAME = 64;

/** Creates a new self-signed root CA (RSA 3072, SHA-256, 10 years, basicConstraints cA critical, keyUsage keyCertSign+cRLSign critical, subjectKeyIdentifier). */
export function createCa(options: {
  commonName: string;
  organization?: string;
  validDays?: number;
  now?: Date;
}): CertificateAuthority {
  const { commonName, organization } = options;
  if (commonName.trim() === '' || commonName.length > MAX_COMMON_NAME) {
    throw new RangeError(`CA commonName must be 1 to ${MAX_COMMON_NAME} characters`);
  }
  if (organization !== undefined && (organization.trim() === '' || organization.length > MAX_COMMON_NAME)) {
    throw new RangeError(`CA organization must be 1 to ${MAX_COMMON_NAME} characters`);
  }
  const validity = validityPeriod(options.now ?? new Date(), positiveDays(options.validDays ?? CA_DEFAULT_DAYS, 'validDays'));
  const keys = generateRsaKeys(CA_KEY_BITS);

  const subject: forge.pki.CertificateField[] = [];
  if (organization !== undefined) subject.push(utf8Attribute('O', organization));
  subject.push(utf8Attribute('CN', commonName));

  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    // RFC 5280 §4.2.1.9: MUST be critical in CA certificates. pathLen 0 because
    // this root signs leaf certificates only, never another CA.
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    // RFC 5280 §4.2.1.3: keyCertSign is required to sign certificates; SHOULD be critical.
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    // RFC 5280 §4.2.1.2: MUST appear in CA certificates (method 1: SHA-1 of the key).
    // No authorityKeyIdentifier: §4.2.1.1 allows leaving it out of a self-signed root.
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());

  return { certPem: certificateToPem(cert), keyPem: keys.keyPem };
}

/** Issues a TLS server certificate signed by the CA (RSA 2048, 825 days max, EKU serverAuth, keyUsage digitalSignature+keyEncipherment, SAN with every name: DNS names and IPv4/IPv6 addresses told apart, CN = first name, authorityKeyIdentifier, subjectKeyIdentifier, basicConstraints cA false). */
export function issueServerCertificate(
  ca: CertificateAuthority,
  options: { names: string[]; validDays?: number; now?: Date; revocation?: RevocationUrls },
): IssuedCertificate {
  const names = parseServerNames(options.names);
  const first = names[0]!;
  if (first.text.length > MAX_COMMON_NAME) {
    throw new RangeError(`the first name becomes the commonName and must be at most ${MAX_COMMON_NAME} characters: ${first.text}`);
  }
  const days = positiveDays(options.validDays ?? SERVER_MAX_DAYS, 'validDays');
  if (days > SERVER_MAX_DAYS) {
    throw new RangeError(`validDays must be at most ${SERVER_MAX_DAYS} (Apple devices reject longer server certificates)`);
  }
  const now = options.now ?? new Date();
  const issuer = loadIssuingCa(ca, now, options.revocation);
  const keys = generateRsaKeys(SERVER_KEY_BITS);
  const { certPem } = signLeafCertificate(issuer, {
    commonName: first.text,
    publicKey: keys.publicKey,
    days,
    now,
    extensions: [
      // RFC 5280 §4.2.1.3 (SHOULD be critical); keyEncipherment for RSA key exchange.
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      // RFC 5280 §4.2.1.12; Apple requires serverAuth on TLS server certificates.
      { name: 'extKeyUsage', serverAuth: true },
      // RFC 5280 §4.2.1.6. Clients match names against the SAN only (RFC 6125 §6.4.4
      // lets them ignore the CN, and iOS and Chrome do), so every name goes here.
      { name: 'subjectAltName', altNames: names.map((n) => n.altName) },
    ],
  });
  return { certPem, keyPem: keys.keyPem };
}

/**
 * Issues the certificate that signs configuration profiles when no other one is
 * configured (RSA 2048, 397 days at most, keyUsage digitalSignature critical, EKU
 * emailProtection + codeSigning). emailProtection because a profile is CMS
 * SignedData, which OpenSSL and Apple check as S/MIME signing (OpenSSL's default
 * `cms -verify` purpose, smimesign, requires it when an EKU is present);
 * codeSigning is what Apple's own profile-signing certificates carry.
 */
export function issueProfileSigningCertificate(
  ca: CertificateAuthority,
  options: { commonName?: string; validDays?: number; now?: Date; revocation?: RevocationUrls } = {},
): IssuedCertificate {
  const now = options.now ?? new Date();
  const issuer = loadIssuingCa(ca, now, options.revocation);
  const commonName = options.commonName ?? `${issuerDisplayName(issuer)} profile signing`.slice(0, MAX_COMMON_NAME);
  const keys = generateRsaKeys(PROFILE_SIGNING_KEY_BITS);
  const { certPem } = signLeafCertificate(issuer, {
    commonName,
    publicKey: keys.publicKey,
    days: positiveDays(options.validDays ?? PROFILE_SIGNING_DAYS, 'validDays'),
    now,
    extensions: [
      // RFC 5280 §4.2.1.3; RFC 8550 §4.4.2: S/MIME signing needs digitalSignature.
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', emailProtection: true, codeSigning: true },
    ],
  });
  return { certPem, keyPem: keys.keyPem };
}

/** DER bytes of a PEM certificate. */
export function certificateDer(certPem: string): Buffer {
  return new X509Certificate(certPem).raw;
}

/** SHA-256 fingerprint of the DER certificate, upper-case hex pairs joined by ':' (as browsers and iOS show it). */
export function fingerprintSha256(certPem: string): string {
  // node:crypto already formats it as AB:CD:…; upper-case it in case that ever changes.
  return new X509Certificate(certPem).fingerprint256.toUpperCase();
}

/** The certificate's notAfter. */
export function certificateNotAfter(certPem: string): Date {
  // X509Certificate (unlike forge) reads every key type, so a certificate brought
  // from elsewhere (ECDSA, say) works too. Node 20 has no validToDate: validTo is
  // OpenSSL's "Mon DD HH:MM:SS YYYY GMT", which Date parses.
  const validTo = new X509Certificate(certPem).validTo;
  const notAfter = new Date(validTo);
  if (Number.isNaN(notAfter.getTime())) throw new Error(`cannot read the certificate's notAfter: ${validTo}`);
  return notAfter;
}

/**
 * Writes ca.pem, ca-key.pem, server.pem, server-key.pem, eap-server.pem and
 * eap-server-key.pem into dir (keys mode 0600; refuses to overwrite existing files
 * unless overwrite:true) and returns their paths. With `revocation`, both server
 * certificates name the CRL and the OCSP responder.
 */
export async function writeGatewayPki(
  dir: string,
  options: { commonName: string; organization?: string; serverNames: string[]; eapServerName: string; revocation?: RevocationUrls; overwrite?: boolean },
): Promise<{ caCert: string; caKey: string; serverCert: string; serverKey: string; eapCert: string; eapKey: string }> {
  const paths = {
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server-key.pem'),
    eapCert: join(dir, EAP_SERVER_CERT),
    eapKey: join(dir, EAP_SERVER_KEY),
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const overwrite = options.overwrite === true;
  if (!overwrite) {
    // Check them all before generating anything, so a refusal leaves no half-written set.
    const existing = (await Promise.all(Object.values(paths).map(async (p) => ((await exists(p)) ? p : null)))).filter(
      (p): p is string => p !== null,
    );
    if (existing.length > 0) {
      throw new Error(`refusing to overwrite existing PKI files: ${existing.join(', ')} (pass overwrite: true to replace them)`);
    }
  }

  const ca = createCa({
    commonName: options.commonName,
    ...(options.organization !== undefined ? { organization: options.organization } : {}),
  });
  const revocation = options.revocation ? { revocation: options.revocation } : {};
  const server = issueServerCertificate(ca, { names: options.serverNames, ...revocation });

  // Keys first: a crash in between leaves keys without certificates, never a
  // certificate whose key is missing.
  await writeNewFile(paths.caKey, ca.keyPem, 0o600, overwrite);
  await writeNewFile(paths.serverKey, server.keyPem, 0o600, overwrite);
  await writeNewFile(paths.caCert, ca.certPem, 0o644, overwrite);
  await writeNewFile(paths.serverCert, server.certPem, 0o644, overwrite);
  await writeEapServerCertificate(dir, ca, { name: options.eapServerName, ...revocation, overwrite });
  return paths;
}

/** The EAP server's certificate and key in the certificates directory (what eap.cert_file and eap.key_file default to). */
export const EAP_SERVER_CERT = 'eap-server.pem';
export const EAP_SERVER_KEY = 'eap-server-key.pem';

/**
 * Issues the 802.1X (EAP-TLS, TTLS, PEAP) server certificate from the gateway's CA and
 * writes eap-server.pem and eap-server-key.pem (0600) into dir: a TLS server certificate
 * (EKU serverAuth, which Windows and Android check on RADIUS servers too) for one DNS
 * name, the one devices pin. Refuses to overwrite unless overwrite:true.
 */
export async function writeEapServerCertificate(
  dir: string,
  ca: CertificateAuthority,
  options: { name: string; revocation?: RevocationUrls; overwrite?: boolean },
): Promise<{ eapCert: string; eapKey: string }> {
  const paths = { eapCert: join(dir, EAP_SERVER_CERT), eapKey: join(dir, EAP_SERVER_KEY) };
  const overwrite = options.overwrite === true;
  if (!overwrite) {
    const existing = (await Promise.all(Object.values(paths).map(async (p) => ((await exists(p)) ? p : null)))).filter((p): p is string => p !== null);
    if (existing.length > 0) throw new Error(`refusing to overwrite existing PKI files: ${existing.join(', ')} (pass overwrite: true to replace them)`);
  }
  if (isIP(options.name) !== 0) throw new RangeError(`the EAP server needs a DNS name (devices pin names, not addresses): ${options.name}`);
  const eap = issueServerCertificate(ca, { names: [options.name], ...(options.revocation ? { revocation: options.revocation } : {}) });
  await writeNewFile(paths.eapKey, eap.keyPem, 0o600, overwrite);
  await writeNewFile(paths.eapCert, eap.certPem, 0o644, overwrite);
  return paths;
}

interface RsaKeys {
  keyPem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
}

function generateRsaKeys(modulusLength: number): RsaKeys {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength, publicExponent: 0x10001 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  return { keyPem, privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

/** A CA read and checked once, ready to sign many certificates (see loadIssuingCa). */
export interface IssuingCa {
  readonly x509: X509Certificate;
  /** The CA certificate as forge holds it (to put into a PKCS#12 beside a leaf). */
  readonly cert: forge.pki.Certificate;
  readonly subject: forge.pki.CertificateField[];
  readonly keyIdentifier: string;
  readonly signingKey: ForgeSigningKey;
  /** The CA's private key, for what forge does not build (CRLs, OCSP answers). */
  readonly key: KeyObject;
  readonly notAfter: Date;
  /** Named in every certificate signed with this issuer (CRL Distribution Points, Authority Information Access); none when absent. */
  readonly revocation?: RevocationUrls;
}

/**
 * Reads and checks the CA (a CA, key matching, not expired, RSA) once, so that issuing
 * many certificates does not parse it each time. With `revocation`, every certificate
 * it signs names the CRL and the OCSP responder.
 */
export function loadIssuingCa(ca: CertificateAuthority, now: Date = new Date(), revocation?: RevocationUrls): IssuingCa {
  const x509 = new X509Certificate(ca.certPem);
  if (!x509.ca) throw new Error('the CA certificate is not a CA (basicConstraints cA is not set)');
  const privateKey = createPrivateKey(ca.keyPem);
  if (!x509.checkPrivateKey(privateKey)) {
    throw new Error('the CA key does not belong to the CA certificate');
  }
  const notAfter = certificateNotAfter(ca.certPem);
  refuseExpiredCa(notAfter, now);

  let cert: forge.pki.Certificate;
  try {
    cert = forge.pki.certificateFromPem(ca.certPem);
  } catch (cause) {
    throw new Error('the CA certificate cannot be read by node-forge (it must be an RSA certificate)', { cause });
  }
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
  const keyIdentifier =
    ski?.subjectKeyIdentifier !== undefined
      ? forge.util.hexToBytes(ski.subjectKeyIdentifier)
      : cert.generateSubjectKeyIdentifier().getBytes();

  return {
    x509,
    cert,
    // forge parses UTF8String values as raw UTF-8 bytes but encodes them from JS
    // strings, so copying the attributes as they are would double-encode any
    // non-ASCII character of the CA's name. Decode them first.
    subject: cert.subject.attributes.map((a) =>
      a.valueTagClass === (forge.asn1.Type.UTF8 as number) && typeof a.value === 'string'
        ? { ...a, value: forge.util.decodeUtf8(a.value) }
        : a,
    ),
    keyIdentifier,
    signingKey: nativeRsaSigner(privateKey),
    key: privateKey,
    notAfter,
    ...(revocation ? { revocation } : {}),
  };
}

/** What differs between the leaf certificates the CA issues; signLeafCertificate adds the rest. */
export interface LeafRequest {
  readonly commonName: string;
  readonly publicKey: forge.pki.rsa.PublicKey;
  readonly days: number;
  readonly now: Date;
  /** keyUsage, extKeyUsage, subjectAltName: the purpose of the certificate. */
  readonly extensions: readonly object[];
}

/** Nothing is signed with a CA past its end. */
function refuseExpiredCa(notAfter: Date, now: Date): void {
  if (notAfter <= now) throw new Error(`the CA certificate expired on ${notAfter.toISOString()}`);
}

/**
 * Builds and signs an end-entity certificate: random positive serial, validity
 * backdated an hour and cut at the CA's notAfter, basicConstraints cA false, key
 * identifiers, SHA-256 signed natively. Returns it as forge holds it and as PEM.
 */
export function signLeafCertificate(issuer: IssuingCa, request: LeafRequest): { cert: forge.pki.Certificate; certPem: string } {
  if (request.commonName.trim() === '' || request.commonName.length > MAX_COMMON_NAME) {
    throw new RangeError(`a certificate's commonName must be 1 to ${MAX_COMMON_NAME} characters`);
  }
  const validity = validityPeriod(request.now, positiveDays(request.days, 'validDays'));
  // An issuer is loaded once (at start) and checked then; a gateway that runs past its CA's
  // end would otherwise sign leaves that end before they begin, and hand them out as good.
  refuseExpiredCa(issuer.notAfter, request.now);
  // A leaf cannot be used past its CA's notAfter anyway: say so in the certificate
  // rather than promise a date that will fail.
  if (validity.notAfter > issuer.notAfter) validity.notAfter = issuer.notAfter;

  const cert = forge.pki.createCertificate();
  cert.publicKey = request.publicKey;
  cert.serialNumber = randomSerialHex();
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  cert.setSubject([utf8Attribute('CN', request.commonName)]);
  cert.setIssuer(issuer.subject);
  cert.setExtensions([
    // RFC 5280 §4.2.1.9: an end-entity certificate must not be usable as a CA.
    { name: 'basicConstraints', cA: false },
    ...request.extensions,
    { name: 'subjectKeyIdentifier' },
    // RFC 5280 §4.2.1.1: the CA's own subjectKeyIdentifier, so clients pick the right issuer.
    { name: 'authorityKeyIdentifier', keyIdentifier: issuer.keyIdentifier },
    // RFC 5280 §4.2.1.13 and §4.2.2.1: where a relying party (a RADIUS server, a
    // browser) checks whether the certificate has been revoked.
    ...(issuer.revocation ? revocationExtensions(issuer.revocation) : []),
  ]);
  cert.sign(asForgeKey(issuer.signingKey), forge.md.sha256.create());
  const certPem = certificateToPem(cert);

  // RFC 5280 §7.1: clients chain by comparing the leaf's issuer with the CA's subject.
  // forge rebuilds the name from parsed attributes (flattening multi-valued RDNs), so
  // check that it still matches rather than ship a certificate that never chains.
  if (!new X509Certificate(certPem).checkIssued(issuer.x509)) {
    throw new Error("the issued certificate's issuer name does not match the CA's subject name");
  }
  return { cert, certPem };
}

/** The CA's organisation, else its common name: what a person recognises the gateway by. */
function issuerDisplayName(issuer: IssuingCa): string {
  const field = issuer.subject.find((a) => a.shortName === 'O') ?? issuer.subject.find((a) => a.shortName === 'CN');
  return typeof field?.value === 'string' ? field.value : 'enrollgate';
}

function utf8Attribute(shortName: 'CN' | 'O', value: string): forge.pki.CertificateField {
  // RFC 5280 §4.1.2.4: new certificates MUST use UTF8String for DirectoryString
  // (forge defaults to PrintableString, which cannot even hold '&' or '@').
  // @types/node-forge types valueTagClass as a Class, but forge reads it as a Type.
  return { shortName, value, valueTagClass: forge.asn1.Type.UTF8 as number as forge.asn1.Class };
}

interface ServerName {
  text: string;
  altName: { type: 2 | 7; value: string };
}

function parseServerNames(names: readonly string[]): ServerName[] {
  if (names.length === 0) throw new RangeError('a server certificate needs at least one name');
  const parsed = new Map<string, ServerName>();
  for (const name of names) {
    const one = parseServerName(name);
    const key = `${one.altName.type}:${one.altName.value}`;
    if (!parsed.has(key)) parsed.set(key, one);
  }
  return [...parsed.values()];
}

function parseServerName(name: string): ServerName {
  // GeneralName tags, RFC 5280 §4.2.1.6: [2] dNSName, [7] iPAddress.
  const family = isIP(name);
  if (family !== 0) {
    // A zone (fe80::1%eth0) names an interface on one host and has no place in a certificate.
    if (name.includes('%')) throw new RangeError(`an IPv6 address in a certificate cannot carry a zone: ${name}`);
    const bytes = family === 4 ? ipv4Bytes(name) : ipv6Bytes(name);
    return { text: name, altName: { type: 7, value: bytes.toString('binary') } };
  }
  // RFC 5280 §7.2: internationalized names go into dNSName as A-labels (punycode).
  const ascii = domainToASCII(name);
  const labels = ascii.split('.');
  const valid =
    ascii !== '' &&
    ascii.length <= 253 &&
    labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) &&
    // An all-numeric last label is an IPv4 address in another spelling (1.2.3, 0x7f.1).
    !/^[0-9]+$/.test(labels[labels.length - 1] ?? '');
  if (!valid) {
    // RFC 5280 §4.2.1.6: dNSName must use the preferred name syntax (letters, digits, hyphens).
    throw new RangeError(`not a DNS name (letters, digits and hyphens) nor an IP address: ${JSON.stringify(name)}`);
  }
  return { text: ascii, altName: { type: 2, value: ascii } };
}

function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map((part) => Number.parseInt(part, 10)));
}

/** Expects an address net.isIP accepted as IPv6, without zone. */
function ipv6Bytes(address: string): Buffer {
  const bytes = Buffer.alloc(16);
  let hex = address;
  // An IPv4 tail (::ffff:192.0.2.1) is the last two groups written as a dotted quad.
  let ipv4Tail: Buffer | undefined;
  if (hex.includes('.')) {
    const cut = hex.lastIndexOf(':') + 1;
    ipv4Tail = ipv4Bytes(hex.slice(cut));
    hex = `${hex.slice(0, cut)}0:0`;
  }
  const [head = '', tail] = hex.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((group, i) => bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2));
  ipv4Tail?.copy(bytes, 12);
  return bytes;
}

function randomSerialHex(): string {
  // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets, so the top bit is
  // cleared. forge writes the hex as the INTEGER's content octets unchanged, and DER
  // (X.690 §8.3.2) forbids a leading 0x00 before a byte below 0x80. OpenSSL 3.0 lets
  // it pass but strict parsers do not (Go: "integer not minimally-encoded"), so draw
  // again in the 1 in 128 case of a zero first byte.
  for (;;) {
    const bytes = randomBytes(16);
    bytes.writeUInt8(bytes.readUInt8(0) & 0x7f, 0);
    if (bytes.readUInt8(0) !== 0) return bytes.toString('hex');
  }
}

function positiveDays(days: number, what: string): number {
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`${what} must be a positive whole number of days`);
  return days;
}

function validityPeriod(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  if (Number.isNaN(now.getTime())) throw new RangeError('now is not a valid date');
  // X.509 times have whole seconds; drop the milliseconds so what is signed is what we computed.
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  // RFC 5280 §4.1.2.5: the period includes both notBefore and notAfter, so it ends
  // one second before notBefore + days and lasts exactly `days` days.
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS - 1000);
  return { notBefore, notAfter };
}

function certificateToPem(cert: forge.pki.Certificate): string {
  // forge's own PEM has CRLF line ends; going through node:crypto gives LF and
  // proves OpenSSL parses what forge wrote.
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return new X509Certificate(der).toString();
}

async function exists(path: string): Promise<boolean> {
  try {
    // lstat, not stat: a dangling symlink is in the way too.
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function writeNewFile(path: string, contents: string, mode: number, overwrite: boolean): Promise<void> {
  // Exclusive create ('wx') never follows a symlink and never replaces a file that
  // appeared since the check. When replacing, write a fresh file and rename it over
  // the old one: writing in place would keep the old file's mode (a key left 0644
  // would stay 0644).
  const target = overwrite ? `${path}.${randomBytes(6).toString('hex')}.tmp` : path;
  const file = await open(target, 'wx', mode);
  try {
    await file.writeFile(contents, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  if (overwrite) {
    try {
      await rename(target, path);
    } catch (error) {
      await rm(target, { force: true });
      throw error;
    }
  }
}
