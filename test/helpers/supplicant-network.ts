/**
 * The `network={…}` block of a wpa_supplicant configuration for one 802.1X device,
 * shared by eapol_test (eapol-test.ts) and the wired wpa_supplicant of the lab
 * (dot1x-lab.ts), so that both speak with the same settings.
 */
export interface SupplicantNetwork {
  readonly method: 'TLS' | 'TTLS' | 'PEAP';
  /** The outer identity (EAP-Response/Identity) for TLS; the inner one for TTLS and PEAP. */
  readonly identity: string;
  /** The outer identity of TTLS and PEAP (e.g. "anonymous@example.org"). */
  readonly anonymousIdentity?: string;
  /** PEM of the CA that must have issued the server's certificate; without it the server is not checked. */
  readonly caCert?: string;
  /** PEM client certificate; leave out with a PKCS#12 `privateKey`. */
  readonly clientCert?: string;
  /** PEM key, or a PKCS#12 file ("….p12", certificate and key together). */
  readonly privateKey?: string;
  readonly privateKeyPassword?: string;
  /** The inner password of TTLS-PAP or PEAP-MSCHAPv2. */
  readonly password?: string;
  /** e.g. "tls_disable_tlsv1_3=0" (TLS 1.3 allowed) or "tls_disable_tlsv1_3=1" (TLS 1.2 at most). */
  readonly phase1?: string;
  /** e.g. "auth=PAP" (TTLS) or "auth=MSCHAPV2" (PEAP). */
  readonly phase2?: string;
  /** Largest EAP-TLS fragment the device sends (wpa_supplicant's default is 1398). */
  readonly fragmentSize?: number;
  /** The server certificate must name exactly this host (SAN dNSName or CN). */
  readonly domainMatch?: string;
  /** The server certificate must name this host or a subdomain of it. */
  readonly domainSuffixMatch?: string;
}

/** Quotes a value for wpa_supplicant's configuration; it has no escapes, so `"` and line breaks are refused. */
function quoted(key: string, value: string): string {
  if (/["\r\n]/.test(value)) throw new Error(`supplicant ${key}: a quote or line break cannot be written in wpa_supplicant's configuration`);
  return `\t${key}="${value}"`;
}

/** The `network={…}` block (key_mgmt=IEEE8021X, eapol_flags=0: 802.1X without WEP keys, as on a wired port). */
export function supplicantNetwork(n: SupplicantNetwork): string {
  const lines = ['network={', '\tkey_mgmt=IEEE8021X', `\teap=${n.method}`, quoted('identity', n.identity)];
  const optional: Array<[string, string | undefined]> = [
    ['anonymous_identity', n.anonymousIdentity],
    ['ca_cert', n.caCert],
    ['client_cert', n.clientCert],
    ['private_key', n.privateKey],
    ['private_key_passwd', n.privateKeyPassword],
    ['password', n.password],
    ['phase1', n.phase1],
    ['phase2', n.phase2],
    ['domain_match', n.domainMatch],
    ['domain_suffix_match', n.domainSuffixMatch],
  ];
  for (const [key, value] of optional) if (value !== undefined) lines.push(quoted(key, value));
  if (n.fragmentSize !== undefined) {
    if (!Number.isInteger(n.fragmentSize) || n.fragmentSize <= 0) throw new Error(`supplicant fragment_size: ${n.fragmentSize} is not a positive integer`);
    lines.push(`\tfragment_size=${n.fragmentSize}`);
  }
  lines.push('\teapol_flags=0', '}');
  return `${lines.join('\n')}\n`;
}
