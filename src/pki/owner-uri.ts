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
/**
 * Every URI in the list that is an owner URI in any form: quoted (Node quotes a name with a
 * comma, a quote or non-ASCII, and escapes its commas, so a quoted name never holds ", "),
 * with other characters, or the scheme and namespace in capitals (RFC 8141 §3.1).
 */
const ANY_OWNER_URI = /(?:^|, )URI:"?urn:enrollgate:owner:/gi;

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
 * percent-encoded UTF-8 of a non-empty name, or when there are several (which one would
 * name the owner?). An owner URI in another form is unreadable, not absent: absent lets
 * the CN name the owner.
 */
export function readOwnerUri(printedSubjectAltName: string | undefined): { owner: string } | 'absent' | 'unreadable' {
  const printed = printedSubjectAltName ?? '';
  const owners = printed.match(ANY_OWNER_URI)?.length ?? 0;
  if (owners === 0) return 'absent';
  const match = PRINTED.exec(printed);
  if (!match || owners > 1) return 'unreadable';
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
