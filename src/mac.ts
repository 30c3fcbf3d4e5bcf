/**
 * MAC addresses, as routers write them: aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF,
 * aabb.ccdd.eeff (Cisco), aabbccddeeff. One normalised form everywhere inside
 * the gateway: lower-case, colon-separated.
 */
export type Mac = string & { readonly __brand: 'Mac' };

/** The forms other than six pairs, which sixPairs reads without a regular expression. */
const FORMS: readonly RegExp[] = [/^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$/i, /^([0-9a-f]{12})$/i];

/** Why a string is not a usable device MAC, or null when it is one. */
export function macProblem(input: string): string | null {
  return canonicalProblem(canonical(input));
}

function canonicalProblem(mac: string | null): string | null {
  if (mac === null) return 'not a MAC address (expected six hex pairs such as aa:bb:cc:dd:ee:ff)';
  if (mac === ALL_ZERO) return 'the all-zero MAC address belongs to no device';
  // IEEE 802: the least significant bit of the first octet marks a group (multicast/broadcast)
  // address; it is the low bit of the octet's second hex digit.
  if (parseInt(mac[1]!, 16) & 0x01) return 'a multicast or broadcast MAC address belongs to no device';
  return null;
}

const ALL_ZERO = '00:00:00:00:00:00';
const COLON = 0x3a;
const DASH = 0x2d;

/**
 * The MAC in the normalised form, or null when the input is in none of the forms. Every
 * RADIUS request parses two (User-Name and Calling-Station-Id), nearly always six pairs
 * with colons or dashes: those are checked character by character and return the
 * input itself when it is already normalised, so a request allocates no regex match
 * and no substrings for them (bench:radius: parsing MACs was a tenth of what a worker
 * allocated). trim() returns the input itself when there is nothing to trim.
 */
function canonical(input: string): string | null {
  const trimmed = input.trim();
  const pairs = sixPairs(trimmed);
  if (pairs !== undefined) return pairs;
  let m: RegExpExecArray | null;
  let hex: string;
  if ((m = FORMS[0]!.exec(trimmed))) hex = `${m[1]}${m[2]}${m[3]}`;
  else if ((m = FORMS[1]!.exec(trimmed))) hex = m[1]!;
  else return null;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
}

/** Where sixPairs writes a MAC it normalises (JS is single-threaded: one per process is enough). */
const scratch = Buffer.alloc(17);

/**
 * Six hex pairs separated by one kind of ':' or '-', normalised; undefined for any other
 * input. Written into a buffer and read back as one string: slicing and joining made a
 * dozen strings per MAC, and replaceAll took ten times as long.
 */
function sixPairs(s: string): string | undefined {
  if (s.length !== 17) return undefined;
  const separator = s.charCodeAt(2);
  if (separator !== COLON && separator !== DASH) return undefined;
  let upper = false;
  for (let i = 0; i < 17; i++) {
    const c = s.charCodeAt(i);
    if (i % 3 === 2) {
      if (c !== separator) return undefined;
      scratch[i] = COLON;
      continue;
    }
    if (c >= 0x41 && c <= 0x46) upper = true;
    else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
    // ASCII: bit 0x20 turns A-F into a-f, and 0-9 and a-f have it already.
    scratch[i] = c | 0x20;
  }
  // Already lower case with colons, as most NASes send it: the input itself, no new string.
  if (separator === COLON && !upper) return s;
  return scratch.toString('latin1', 0, 17);
}

/** The normalised MAC, or null when the input is not a device MAC (see macProblem for why). */
export function parseMac(input: string | undefined | null): Mac | null {
  if (typeof input !== 'string') return null;
  const mac = canonical(input);
  // canonicalProblem names a null (no MAC at all) as a problem too.
  return canonicalProblem(mac) === null ? (mac as Mac) : null;
}

/**
 * Locally administered addresses (bit 0x02 of the first octet, in its second hex digit)
 * are what Android 10+ and iOS 14+ use as per-network "private" addresses.
 */
export function isLocallyAdministered(mac: Mac): boolean {
  return (parseInt(mac[1]!, 16) & 0x02) !== 0;
}
