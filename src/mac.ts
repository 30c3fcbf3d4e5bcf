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
  return canonicalProblem(canonical(input));
}

function canonicalProblem(mac: string | null): string | null {
  if (mac === null) return 'not a MAC address (expected six hex pairs such as aa:bb:cc:dd:ee:ff)';
  if (mac === ALL_ZERO) return 'the all-zero MAC address belongs to no device';
  // IEEE 802: the least significant bit of the first octet marks a group (multicast/broadcast) address.
  if (hexValue(mac.charCodeAt(1)) & 0x01) return 'a multicast or broadcast MAC address belongs to no device';
  return null;
}

const ALL_ZERO = '00:00:00:00:00:00';

/** The value of a lower-case hex digit's character code. */
function hexValue(c: number): number {
  return c >= 0x61 ? c - 0x57 : c - 0x30;
}
const COLON = 0x3a;
const DASH = 0x2d;

/**
 * The MAC in the normalised form, or null when the input is in none of FORMS. Every
 * RADIUS request parses two (User-Name and Calling-Station-Id), nearly always six pairs
 * with colons or dashes: those are checked character by character and return the
 * input itself when it is already normalised, so a request allocates no regex match
 * and no substrings for them (bench:radius: parsing MACs was a tenth of what a worker
 * allocated).
 */
function canonical(input: string): string | null {
  const pairs = sixPairs(input);
  if (pairs !== undefined) return pairs;
  const trimmed = input.trim();
  let m = FORMS[0]!.exec(trimmed);
  let hex: string | undefined;
  if (m) hex = `${m[1]}${m[3]}${m[4]}${m[5]}${m[6]}${m[7]}`;
  else if ((m = FORMS[1]!.exec(trimmed))) hex = `${m[1]}${m[2]}${m[3]}`;
  else if ((m = FORMS[2]!.exec(trimmed))) hex = m[1]!;
  if (hex === undefined) return null;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

/** Where sixPairs writes a MAC it normalises (JS is single-threaded: one per process is enough). */
const scratch = Buffer.alloc(17);

/** Six hex pairs separated by one kind of ':' or '-', normalised; undefined for any other input (the slow path decides). */
function sixPairs(s: string): string | undefined {
  if (s.length !== 17) return undefined;
  const separator = s.charCodeAt(2);
  if (separator !== COLON && separator !== DASH) return undefined;
  let upper = false;
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    if (i % 3 === 2) {
      if (c !== separator) return undefined;
    } else if (c >= 0x41 && c <= 0x46) {
      upper = true;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) {
      return undefined;
    }
  }
  if (separator === COLON && !upper) return s;
  // Written into a buffer and read back as one string: slicing and joining made a
  // dozen strings per MAC, and replaceAll took ten times as long.
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    scratch[i] = i % 3 === 2 ? COLON : c >= 0x41 && c <= 0x46 ? c | 0x20 : c;
  }
  return scratch.toString('latin1', 0, 17);
}

/** The normalised MAC, or null when the input is not a device MAC (see macProblem for why). */
export function parseMac(input: string | undefined | null): Mac | null {
  if (typeof input !== 'string') return null;
  const mac = canonical(input);
  if (mac === null || canonicalProblem(mac) !== null) return null;
  return mac as Mac;
}

/**
 * Locally administered addresses (bit 0x02 of the first octet) are what Android 10+
 * and iOS 14+ use as per-network "private" addresses.
 */
export function isLocallyAdministered(mac: Mac): boolean {
  return (parseInt(mac.slice(0, 2), 16) & 0x02) !== 0;
}
