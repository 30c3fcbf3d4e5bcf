import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Reads an Android Passpoint download the way AOSP's installer does, and refuses it where
 * that would. Written for these tests in TypeScript from reading AOSP's
 * android.net.wifi.hotspot2.ConfigParser (the MIME envelope and parts, the CA and PKCS#12
 * parts), omadm/PpsMoParser (the OMA-DM PPS MO tree) and the validate() rules of
 * pps/HomeSp, pps/Credential (with its CertificateCredential and UserCredential) and
 * PasspointConfiguration, plus source.android.com's "Passpoint R1" page. No code is taken
 * from them. Where AOSP's versions differ it takes the strictest: any MIME header other than
 * Content-Type and Content-Transfer-Encoding is refused (Android 7 and 8 refuse it; later
 * versions log it), and so is a part type seen twice (AOSP keeps the last). Parts of the
 * PPS MO this gateway never writes (Policy, SubscriptionUpdate, SIM …) are refused as
 * unsupported here rather than half-checked. The XML is checked well-formed by xmllint;
 * the PKCS#12 is opened by openssl with an empty password, as Java's key store is.
 */

export class PasspointRefused extends Error {}

export interface PasspointFile {
  readonly homeSp: { readonly fqdn: string; readonly friendlyName: string; readonly roamingConsortiumOis: readonly bigint[] };
  readonly credential: {
    readonly realm: string;
    readonly certType: string;
    readonly fingerprint: Buffer;
  };
  readonly caDer: Buffer;
  /** Every certificate in the PKCS#12 (DER), the client's among them. */
  readonly chain: readonly Buffer[];
  readonly ppsXml: string;
}

const TYPES = ['application/x-passpoint-profile', 'application/x-x509-ca-cert', 'application/x-pkcs12'] as const;
const PPS_MO_URN = 'urn:wfa:mo:hotspot2dot0-perprovidersubscription:1.0';
// PasspointConfiguration's limits.
const MAX_STRING_BYTES = 255;
const MAX_REALM_BYTES = 253;
const MAX_OIS = 36;
const MAX_OI = 0xff_ffff_ffffn;

const refuse = (why: string): never => {
  throw new PasspointRefused(why);
};

/** Parses and validates a download: the HTTP Content-Type and the body as sent. */
export function parsePasspointDownload(contentType: string | undefined, body: Buffer | string): PasspointFile {
  // ConfigParser: the MIME type must be exactly application/x-wifi-config.
  if (contentType !== 'application/x-wifi-config') refuse(`Unexpected MIME type: ${contentType}`);
  const text = typeof body === 'string' ? body : body.toString('latin1');
  // android.util.Base64 DEFAULT skips line breaks and stops at bad characters; refuse them instead.
  if (!/^[A-Za-z0-9+/=\r\n]*$/.test(text)) refuse('the body is not base64');
  const lines = Buffer.from(text.replace(/[\r\n]/g, ''), 'base64').toString('latin1').split(/\r\n|\n|\r/);
  let at = 0;
  const next = (): string => (at < lines.length ? lines[at++]! : refuse(`Missing line @ ${at}`));

  const outer = headers(next);
  if (outer.type !== 'multipart/mixed') refuse(`Invalid content type: ${outer.type}`);
  if (!outer.boundary) refuse('Missing boundary string');
  if (outer.encoding !== 'base64') refuse(`Unexpected encoding: ${outer.encoding}`);
  const boundary = `--${outer.boundary}`;
  while (next() !== boundary);

  const parts = new Map<string, Buffer>();
  for (let last = false; !last; ) {
    const h = headers(next);
    if (h.encoding !== 'base64') refuse(`Unexpected encoding type: ${h.encoding}`);
    if (!(TYPES as readonly string[]).includes(h.type ?? '')) refuse(`Unexpected content type: ${h.type}`);
    if (parts.has(h.type!)) refuse(`a second part of type ${h.type}`);
    let data = '';
    for (;;) {
      const line = next();
      if (line.startsWith(boundary)) {
        last = line === `${boundary}--`;
        break;
      }
      data += line;
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) refuse(`the ${h.type} part is not base64`);
    parts.set(h.type!, Buffer.from(data, 'base64'));
  }

  const ppsXml = parts.get('application/x-passpoint-profile')?.toString('utf8') ?? refuse('Missing Passpoint Profile');
  const pps = parsePpsMo(ppsXml);
  if (!pps.credential) refuse('Passpoint profile missing credential');
  const caDer = parts.get('application/x-x509-ca-cert');
  if (caDer) {
    try {
      new X509Certificate(caDer);
    } catch {
      refuse('Failed to parse CA Certificate');
    }
  }
  const p12 = parts.get('application/x-pkcs12');
  const key = p12 ? openPkcs12(p12) : undefined;
  return validate(pps, caDer, key, ppsXml);
}

interface MimeHeaders {
  readonly type?: string;
  readonly boundary?: string;
  readonly encoding?: string;
}

/** ConfigParser's readHeaders and parseHeaders: up to a blank line, continuation lines folded. */
function headers(next: () => string): MimeHeaders {
  const found = new Map<string, string>();
  let name: string | undefined;
  for (;;) {
    const line = next();
    if (line.trim() === '') break;
    const colon = line.indexOf(':');
    if (colon < 0) {
      if (name === undefined) refuse(`Bad header line: '${line}'`);
      found.set(name!, `${found.get(name!)} ${line.trim()}`);
      continue;
    }
    if (/^\s/.test(line)) refuse(`Illegal blank prefix in header line '${line}'`);
    name = line.slice(0, colon).trim();
    if (found.has(name)) refuse(`Duplicate header: ${name}`);
    found.set(name, line.slice(colon + 1).trim());
  }
  let type: string | undefined;
  let boundary: string | undefined;
  for (const [key, value] of found) {
    if (key === 'Content-Type') {
      const [first, ...params] = value.split(';');
      type = first!.trim();
      if (params.length > 1) refuse(`Invalid Content-Type: ${value}`);
      if (params.length === 1) {
        const p = params[0]!.trim();
        if (!p.startsWith('boundary=')) refuse(`Invalid Content-Type: ${value}`);
        boundary = p.slice('boundary='.length).replace(/^"(.+)"$/, '$1');
      }
    } else if (key !== 'Content-Transfer-Encoding') {
      refuse(`Unexpected header: ${key}`);
    }
  }
  const encoding = found.get('Content-Transfer-Encoding');
  return { ...(type !== undefined ? { type } : {}), ...(boundary !== undefined ? { boundary } : {}), ...(encoding !== undefined ? { encoding } : {}) };
}

// ---- the PPS MO (OMA-DM XML) ----

interface XmlElement {
  readonly tag: string;
  readonly children: XmlElement[];
  text: string;
}

/** A PPS node: a leaf with a value, or an inner node with uniquely named children. */
type PpsNode = { readonly name: string; readonly value: string } | { readonly name: string; readonly children: readonly PpsNode[] };

interface Pps {
  readonly updateIdentifier?: number;
  readonly homeSp?: { fqdn?: string; friendlyName?: string; roamingConsortiumOis?: bigint[] };
  readonly credential?: {
    realm?: string;
    cert?: { type?: string; fingerprint?: Buffer };
    user?: { username?: string; password?: string; eapType?: number; innerMethod?: string };
  };
}

function parsePpsMo(xml: string): Pps {
  const root = readXml(xml);
  if (root.tag !== 'MgmtTree') refuse('Root is not a MgmtTree');
  let verDtd: string | undefined;
  let pps: Pps | undefined;
  for (const child of root.children) {
    if (child.tag === 'VerDTD') {
      if (verDtd !== undefined) refuse('Duplicate VerDTD element');
      verDtd = child.text;
    } else if (child.tag === 'Node') {
      if (pps) refuse('Unexpected multiple Node element under MgmtTree');
      pps = ppsNode(child);
    } else {
      refuse(`Unknown node: ${child.tag}`);
    }
  }
  return pps ?? refuse('Failed to parse Passpoint profile: no PerProviderSubscription');
}

function ppsNode(element: XmlElement): Pps {
  let name: string | undefined;
  let updateIdentifier: number | undefined;
  let instance: Pps | undefined;
  for (const child of element.children) {
    if (child.tag === 'NodeName') {
      if (name !== undefined) refuse(`Duplicate NodeName: ${child.text}`);
      name = child.text;
      if (name !== 'PerProviderSubscription') refuse(`Unexpected NodeName: ${name}`);
    } else if (child.tag === 'Node') {
      const node = tree(child);
      if (node.name === 'UpdateIdentifier') {
        if (updateIdentifier !== undefined) refuse('Multiple node for UpdateIdentifier');
        updateIdentifier = integer(value(node));
      } else {
        if (instance) refuse('Multiple PPS instance');
        instance = ppsInstance(node);
      }
    } else if (child.tag === 'RTProperties') {
      const type = child.children.length === 1 ? child.children[0]! : refuse('Expect RTPProperties node to only have one child');
      if (type.tag !== 'Type' || type.children.length !== 1) refuse('Expect Type node to only have one child');
      const ddf = type.children[0]!;
      if (ddf.tag !== 'DDFName' || ddf.children.length > 0) refuse(`Unexpected tag for DDFName: ${ddf.tag}`);
      if (ddf.text !== PPS_MO_URN) refuse(`Unknown URN: ${ddf.text}`);
    } else {
      refuse(`Unknown tag under PPS node: ${child.tag}`);
    }
  }
  return instance ? { ...instance, ...(updateIdentifier !== undefined ? { updateIdentifier } : {}) } : refuse('no PerProviderSubscription instance');
}

/** PpsMoParser's buildPpsNode: NodeName, Node and Value only; a value or children, not both. */
function tree(element: XmlElement): PpsNode {
  let name: string | undefined;
  let val: string | undefined;
  const children: PpsNode[] = [];
  for (const child of element.children) {
    if (child.tag === 'NodeName') {
      if (name !== undefined) refuse('Duplicate NodeName node');
      name = child.text;
    } else if (child.tag === 'Node') {
      const node = tree(child);
      if (children.some((c) => c.name === node.name)) refuse(`Duplicate node: ${node.name}`);
      children.push(node);
    } else if (child.tag === 'Value') {
      if (val !== undefined) refuse('Duplicate Value node');
      val = child.text;
    } else {
      refuse(`Unknown tag: ${child.tag}`);
    }
  }
  if (name === undefined) refuse('Invalid node: missing NodeName');
  if (val === undefined && children.length === 0) refuse(`Invalid node: ${name} missing both value and children`);
  if (val !== undefined && children.length > 0) refuse(`Invalid node: ${name} contained both value and children`);
  return val !== undefined ? { name: name!, value: val } : { name: name!, children };
}

const value = (n: PpsNode): string => ('value' in n ? n.value : refuse(`Cannot get value from a non-leaf node: ${n.name}`));
const children = (n: PpsNode): readonly PpsNode[] => ('children' in n ? n.children : refuse(`Leaf node not expected for ${n.name}`));
const integer = (v: string): number => (/^[+-]?\d{1,10}$/.test(v) && Math.abs(Number(v)) <= 2 ** 31 ? Number(v) : refuse(`Invalid integer value: ${v}`));

function ppsInstance(node: PpsNode): Pps {
  const pps: { homeSp?: Pps['homeSp']; credential?: Pps['credential'] } = {};
  for (const child of children(node)) {
    switch (child.name) {
      case 'HomeSP':
        pps.homeSp = homeSp(child);
        break;
      case 'Credential':
        pps.credential = credential(child);
        break;
      case 'Extension':
        children(child); // AOSP ignores what it does not know under Extension
        break;
      default:
        refuse(`Unknown or unsupported node: ${child.name}`);
    }
  }
  return pps;
}

function homeSp(node: PpsNode): NonNullable<Pps['homeSp']> {
  const sp: NonNullable<Pps['homeSp']> = {};
  for (const child of children(node)) {
    if (child.name === 'FQDN') sp.fqdn = value(child);
    else if (child.name === 'FriendlyName') sp.friendlyName = value(child);
    else if (child.name === 'RoamingConsortiumOI') sp.roamingConsortiumOis = value(child).split(',').map((o) => (/^[0-9A-Fa-f]{1,16}$/.test(o) ? BigInt(`0x${o}`) : refuse(`Invalid long integer value: ${o}`)));
    else refuse(`Unknown or unsupported node under HomeSP: ${child.name}`);
  }
  return sp;
}

function credential(node: PpsNode): NonNullable<Pps['credential']> {
  const c: NonNullable<Pps['credential']> = {};
  for (const child of children(node)) {
    switch (child.name) {
      case 'Realm':
        c.realm = value(child);
        break;
      case 'CreationDate':
      case 'ExpirationDate':
        if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value(child))) refuse(`Badly formatted time: ${value(child)}`);
        break;
      case 'CheckAAAServerCertStatus':
        value(child);
        break;
      case 'DigitalCertificate': {
        const cert: { type?: string; fingerprint?: Buffer } = {};
        for (const d of children(child)) {
          if (d.name === 'CertificateType') cert.type = value(d);
          else if (d.name === 'CertSHA256Fingerprint') {
            const hex = value(d);
            if (hex.length % 2 === 1) refuse(`Odd length hex string: ${hex.length}`);
            if (!/^[0-9A-Fa-f]*$/.test(hex)) refuse(`Invalid hex string: ${hex}`);
            cert.fingerprint = Buffer.from(hex, 'hex');
          } else refuse(`Unknown node under DigitalCertificate: ${d.name}`);
        }
        c.cert = cert;
        break;
      }
      case 'UsernamePassword': {
        const user: NonNullable<NonNullable<Pps['credential']>['user']> = {};
        for (const u of children(child)) {
          if (u.name === 'Username') user.username = value(u);
          else if (u.name === 'Password') user.password = value(u);
          else if (u.name === 'EAPMethod') {
            for (const m of children(u)) {
              if (m.name === 'EAPType') user.eapType = integer(value(m));
              else if (m.name === 'InnerMethod') user.innerMethod = value(m);
              else refuse(`Unknown or unsupported node under EAPMethod: ${m.name}`);
            }
          } else refuse(`Unknown or unsupported node under UsernamePassword: ${u.name}`);
        }
        c.user = user;
        break;
      }
      default:
        refuse(`Unknown or unsupported node under Credential: ${child.name}`);
    }
  }
  return c;
}

/** PasspointConfiguration.validate() → HomeSp.validate() and Credential.validate(isR1). */
function validate(pps: Pps, caDer: Buffer | undefined, key: { chain: Buffer[] } | undefined, ppsXml: string): PasspointFile {
  const bytes = (v: string) => Buffer.byteLength(v, 'utf8');
  const sp = pps.homeSp ?? refuse('Missing HomeSP');
  if (!sp.fqdn) refuse('Missing FQDN');
  if (bytes(sp.fqdn!) > MAX_STRING_BYTES) refuse('FQDN is too long');
  if (!sp.friendlyName) refuse('Missing friendly name');
  if (bytes(sp.friendlyName!) > MAX_STRING_BYTES) refuse('Friendly name is too long');
  const ois = sp.roamingConsortiumOis ?? [];
  if (ois.length > MAX_OIS) refuse('too many Roaming Consortium Organization Identifiers in the profile');
  if (ois.some((o) => o < 0n || o > MAX_OI)) refuse('Organization Identifiers is out of range');

  const c = pps.credential!;
  if (!c.realm) refuse('Missing realm');
  if (bytes(c.realm!) > MAX_REALM_BYTES) refuse(`realm exceeding maximum length: ${bytes(c.realm!)}`);
  // A Release 1 profile has no UpdateIdentifier, and needs its CA in the file.
  const isR1 = pps.updateIdentifier === undefined;
  const kinds = [c.cert, c.user].filter((k) => k !== undefined).length;
  if (kinds === 0) refuse('Missing required credential');
  if (kinds > 1) refuse('Contained more than one type of credential');
  if (c.user) {
    const u = c.user;
    if (!u.username || bytes(u.username) > 63) refuse('Missing or too long username');
    if (!u.password || bytes(u.password) > MAX_STRING_BYTES) refuse('Missing or too long password');
    if (u.eapType !== 21) refuse(`Invalid EAP Type for user credential: ${u.eapType}`);
    if (!['PAP', 'CHAP', 'MS-CHAP', 'MS-CHAP-V2'].includes(u.innerMethod ?? '')) refuse(`Unsupported Inner Method: ${u.innerMethod}`);
    if (isR1 && !caDer) refuse('Missing CA Certificate for user credential');
    refuse('a user credential (EAP-TTLS) carries a password: this gateway never writes one');
  }
  const cert = c.cert!;
  if (cert.type !== 'x509v3') refuse(`Unsupported certificate type: ${cert.type}`);
  if (cert.fingerprint?.length !== 32) refuse('Invalid SHA-256 fingerprint');
  if (isR1 && !caDer) refuse('Missing CA Certificate for certificate credential');
  if (!key) refuse('Missing client private key for certificate credential');
  if (!key!.chain.some((der) => createHash('sha256').update(der).digest().equals(cert.fingerprint!))) refuse('SHA-256 fingerprint mismatch');
  return {
    homeSp: { fqdn: sp.fqdn!, friendlyName: sp.friendlyName!, roamingConsortiumOis: ois },
    credential: { realm: c.realm!, certType: cert.type!, fingerprint: cert.fingerprint! },
    caDer: caDer!,
    chain: key!.chain,
    ppsXml,
  };
}

// ---- XML and PKCS#12, through real tools ----

/** The element tree of a well-formed document (xmllint checks it is), elements and text only. */
function readXml(xml: string): XmlElement {
  const lint = spawnSync('xmllint', ['--noout', '--nonet', '-'], { input: xml, encoding: 'utf8' });
  if (lint.error) throw lint.error;
  if (lint.status !== 0) refuse(`the PPS MO is not well-formed XML: ${lint.stderr.trim()}`);
  const body = xml.replace(/^\s*<\?xml[^?]*\?>/, '');
  if (/<!|<\?/.test(body)) refuse('the PPS MO has comments, CDATA, a DOCTYPE or processing instructions, which this reader does not take');
  const stack: XmlElement[] = [{ tag: '#document', children: [], text: '' }];
  for (const token of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g)) {
    const [, close, tag, , selfClose, text] = token;
    const top = stack[stack.length - 1]!;
    if (text !== undefined) {
      top.text += text.replace(/&(lt|gt|amp|quot|apos);/g, (_, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e]!);
    } else if (close) {
      stack.pop();
    } else {
      const element: XmlElement = { tag: tag!, children: [], text: '' };
      top.children.push(element);
      if (!selfClose) stack.push(element);
    }
  }
  const trim = (e: XmlElement): void => {
    e.text = e.text.trim();
    e.children.forEach(trim);
  };
  const [root] = stack[0]!.children;
  if (!root) return refuse('the PPS MO has no root element');
  trim(root);
  return root;
}

/**
 * ConfigParser.parsePkcs12: the store opens with an empty password and holds exactly one
 * entry. openssl opens it as Java's store does (a MAC over either form of an empty password);
 * entries are counted as Java's PKCS#12 store counts them: one per alias (friendlyName, else
 * localKeyID) of a key, plus one per certificate with a friendlyName of its own.
 */
function openPkcs12(p12: Buffer): { chain: Buffer[] } {
  const dir = mkdtempSync(join(tmpdir(), 'passpoint-p12-'));
  try {
    const file = join(dir, 'client.p12');
    writeFileSync(file, p12);
    let out: string;
    try {
      out = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:', '-nodes', '-info'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    } catch {
      return refuse('Failed to parse PCKS12 string: it does not open with an empty password');
    }
    const blocks = [...out.matchAll(/Bag Attributes([\s\S]*?)-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \2-----/g)];
    const aliases = new Set<string>();
    const chain: Buffer[] = [];
    for (const [, attributes, kind, b64] of blocks) {
      const friendly = /friendlyName: (.*)/.exec(attributes!)?.[1]?.trim();
      const keyId = /localKeyID: (.*)/.exec(attributes!)?.[1]?.trim();
      if (kind === 'CERTIFICATE') {
        chain.push(Buffer.from(b64!.replace(/\s/g, ''), 'base64'));
        if (friendly) aliases.add(friendly);
      } else {
        aliases.add(friendly ?? keyId ?? 'key');
      }
    }
    // Certificates without attributes print no "Bag Attributes" line of their own in some versions: count them too.
    const certCount = (out.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
    if (certCount !== chain.length) {
      chain.length = 0;
      for (const [, b64] of out.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) chain.push(Buffer.from(b64!.replace(/\s/g, ''), 'base64'));
    }
    const keys = (out.match(/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/g) ?? []).length;
    if (keys !== 1) refuse(`Unexpected key size: ${keys} keys`);
    if (aliases.size !== 1) refuse(`Unexpected key size: ${aliases.size} entries`);
    return { chain };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
