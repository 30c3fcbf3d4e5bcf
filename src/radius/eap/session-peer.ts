/**
 * The peer's certificate in a TLS session as OpenSSL serialises it (i2d_SSL_SESSION: what
 * Node's TLSSocket.getSession() returns), read without parsing the certificate. OpenSSL's
 * ssl/ssl_asn1.c, unchanged in this part since OpenSSL 1.0:
 *
 *   SEQUENCE { version INTEGER, sslVersion INTEGER, cipher OCTET STRING,
 *              sessionId OCTET STRING, masterKey OCTET STRING,
 *              keyArg [0] IMPLICIT OCTET STRING OPTIONAL, time [1] EXPLICIT INTEGER OPTIONAL,
 *              timeout [2] EXPLICIT INTEGER OPTIONAL, peer [3] EXPLICIT Certificate OPTIONAL,
 *              … }
 *
 * Why: Node's other ways to the peer's certificate cost a RADIUS worker more per handshake
 * than the rest of the device check: getPeerX509Certificate copies the next certificate of
 * the peer's chain too, decoding its key again; getPeerCertificate builds an object of
 * every field, the key in OpenSSL's legacy form and three fingerprints among them. Pure.
 */

/** The certificate's bytes (DER); null when the session holds none; undefined when the bytes are not laid out as above (the caller asks Node instead). */
export function peerCertificateInSession(session: Buffer): Buffer | null | undefined {
  const outer = readTlv(session, 0);
  if (!outer || outer.tag !== 0x30) return undefined;
  let at = outer.start;
  // version, sslVersion, cipher, sessionId, masterKey: present in every session.
  for (const tag of [0x02, 0x02, 0x04, 0x04, 0x04]) {
    const field = readTlv(session, at, outer.end);
    if (!field || field.tag !== tag) return undefined;
    at = field.end;
  }
  while (at < outer.end) {
    const field = readTlv(session, at, outer.end);
    if (!field) return undefined;
    if (field.tag === 0xa3) {
      const certificate = readTlv(session, field.start, field.end);
      if (!certificate || certificate.tag !== 0x30 || certificate.end !== field.end) return undefined;
      return Buffer.from(session.subarray(field.start, field.end));
    }
    // Fields come in the order of their tags: past [3], there is no peer certificate.
    if (field.tag !== 0x80 && field.tag !== 0xa1 && field.tag !== 0xa2) return field.tag > 0xa3 && field.tag <= 0xbf ? null : undefined;
    at = field.end;
  }
  return null;
}

/** One DER tag-length-value with a one-octet tag, inside `limit`: where its content starts and ends. */
function readTlv(der: Buffer, at: number, limit = der.length): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  const end = start + length;
  return end > limit ? undefined : { tag, start, end };
}
