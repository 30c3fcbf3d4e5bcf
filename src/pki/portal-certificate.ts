import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';

/**
 * Whether phones will trust the portal's HTTPS certificate on their first visit, before
 * anything is installed on them. They trust only the public roots their OS ships; the
 * gateway's own CA (what `init` issues the portal's certificate from) is not one, and
 * installing it is not the way out: a root a person fully trusts can intercept any HTTPS
 * on their phone, and Wi-Fi does not need it (the Wi-Fi profile anchors the RADIUS
 * server's certificate to it on its own). Node's bundled roots (Mozilla's list, the one
 * the browsers' lists largely agree with) stand in for the phones' here.
 */

/** What a phone shows instead of the portal when the certificate is not publicly trusted. */
export const UNTRUSTED_PORTAL_SEES =
  'a phone\'s first page is a certificate warning ("This Connection Is Not Private" in Safari, "Your connection is not private" in Chrome) before the page that enrolls it, and Apple\'s captive sheet cannot get past it at all';

/** Where the README says how to get a publicly trusted certificate. */
export const HOW_TO_GET_ONE = 'see README, "The portal\'s certificate" (ACME with a DNS challenge works for an internal name)';

/** Why the portal's certificate will not be trusted by a phone, or undefined when it will. Pure but for reading the PEM text given. */
export function portalCertificateProblem(o: {
  certPem: string;
  gatewayCaPem: string;
  baseUrl: string;
  now: Date;
  /** The public roots (PEM); Node's bundled ones unless a test gives its own. */
  roots?: readonly string[];
}): string | undefined {
  const url = new URL(o.baseUrl);
  if (url.protocol !== 'https:') return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const chain = pemCertificates(o.certPem);
  const leaf = chain[0];
  if (leaf === undefined) return 'it holds no PEM certificate';
  const gatewayCa = new X509Certificate(o.gatewayCaPem);
  if (issuedBy(leaf, gatewayCa)) return "it is issued by the gateway's own CA, which phones do not trust";
  if (Date.parse(leaf.validTo) <= o.now.getTime()) return `it expired on ${leaf.validTo}`;
  if (isIP(host) !== 0) return `portal.base_url names the address ${host}: public CAs issue certificates for names, so give the portal a DNS name`;
  if (leaf.checkHost(host) === undefined) return `it is not for ${host}, the host of portal.base_url`;
  const roots = o.roots ? o.roots.map((pem) => new X509Certificate(pem)) : bundledRoots();
  if (!chainsTo(roots, leaf, chain.slice(1))) return 'it does not chain to a public root CA (self-signed, a private CA, or an intermediate missing from the file)';
  return undefined;
}

/** The admin's one-line warning for a problem (check-config, start), naming the key. */
export function portalCertificateWarning(problem: string): string {
  return `portal.https.cert_file: a publicly trusted certificate is needed for the HTTPS portal, and ${problem}. Without one, ${UNTRUSTED_PORTAL_SEES}; ${HOW_TO_GET_ONE}`;
}

function pemCertificates(pem: string): X509Certificate[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

let bundled: X509Certificate[] | undefined;

function bundledRoots(): X509Certificate[] {
  bundled ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return bundled;
}

/** Whether the certificate chains, through the intermediates given, to one of the roots. */
function chainsTo(roots: readonly X509Certificate[], leaf: X509Certificate, intermediates: readonly X509Certificate[]): boolean {
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (roots.some((root) => issuedBy(current, root))) return true;
    const next = intermediates.find((c) => c !== current && issuedBy(current, c));
    if (next === undefined) return false;
    current = next;
  }
  return false;
}
