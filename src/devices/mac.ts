/**
 * MAC addresses, as routers write them: aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF,
 * aabb.ccdd.eeff (Cisco), aabbccddeeff. One normalised form everywhere inside
 * the gateway: lower-case, colon-separated.
 */
export type Mac = string & { readonly __brand: 'Mac' };

const FORMS: readonly RegExp[] = [
  /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i,
  /^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i,
  /^([0-9a-f]{12})$/i,
];

/** Why a string is not a usable device MAC, or null when it is one. */
export function macProblem(input: string): string | null {
  return hexProblem(hexDigits(input));
}

function hexProblem(hex: string | null): string | null {
  if (hex === null) return 'not a MAC address (expected six hex pairs such as aa:bb:cc:dd:ee:ff)';
  if (hex === '000000000000') return 'the all-zero MAC address belongs to no device';
  // IEEE 802: the least significant bit of the first octet marks a group (multicast/broadcast) address.
  if (parseInt(hex.slice(0, 2), 16) & 0x01) return 'a multicast or broadcast MAC address belongs to no device';
  return null;
}

/** The twelve hex digits of a MAC in one of FORMS, lower-case, or null. (Every RADIUS request parses two.) */
function hexDigits(input: string): string | null {
  const trimmed = input.trim();
  let m = FORMS[0]!.exec(trimmed);
  if (m) return `${m[1]}${m[3]}${m[4]}${m[5]}${m[6]}${m[7]}`.toLowerCase();
  m = FORMS[1]!.exec(trimmed);
  if (m) return `${m[1]}${m[2]}${m[3]}`.toLowerCase();
  m = FORMS[2]!.exec(trimmed);
  return m ? m[1]!.toLowerCase() : null;
}

/** The normalised MAC, or null when the input is not a device MAC (see macProblem for why). */
export function parseMac(input: string | undefined | null): Mac | null {
  if (typeof input !== 'string') return null;
  const hex = hexDigits(input);
  if (hex === null || hexProblem(hex) !== null) return null;
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}` as Mac;
}

/**
 * Locally administered addresses (bit 0x02 of the first octet) are what Android 10+
 * and iOS 14+ use as per-network "private" addresses.
 */
export function isLocallyAdministered(mac: Mac): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x02) !== 0;
}
