/**
 * The URI in a device certificate's subjectAltName that names its owner in full
 * (RFC 5280 §4.2.1.6, GeneralName [6]): urn:enrollgate:owner: and the user name as
 * UTF-8 with every byte but RFC 3986's unreserved characters percent-encoded. The
 * subject's CN cannot carry every user name: X.520's ub-common-name is 64 characters,
 * and directory user names can be longer. Encoded so, the URI is plain ASCII with no
 * comma, space or quote, which Node prints in X509Certificate.subjectAltName unquoted
 * and which nothing else in that list can pass for.
 */
const PREFIX = 'urn:enrollgate:owner:';
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const PRINTED = /(?:^|, )URI:urn:enrollgate:owner:([A-Za-z0-9\-._~%]*)(?:,|$)/;

/** The owner URI of `user`. */
export function ownerUri(user: string): string {
  let encoded = '';
  for (const byte of Buffer.from(user, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${PREFIX}${encoded}`;
}

/**
 * The owner named in a subjectAltName as node:crypto prints it: `absent` when no owner
 * URI is there (a certificate issued before it existed), `unreadable` when it is not
 * percent-encoded UTF-8 of a non-empty name.
 */
export function readOwnerUri(printedSubjectAltName: string | undefined): { owner: string } | 'absent' | 'unreadable' {
  const match = PRINTED.exec(printedSubjectAltName ?? '');
  if (!match) return 'absent';
  const encoded = match[1]!;
  if (!/^(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+$/.test(encoded)) return 'unreadable';
  const bytes = Buffer.from(encoded.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  // A fatal decoder: bytes that are not UTF-8 name nobody, rather than a name with U+FFFD in it.
  try {
    return { owner: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return 'unreadable';
  }
}
