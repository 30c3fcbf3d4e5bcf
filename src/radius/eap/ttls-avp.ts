/**
 * The AVPs EAP-TTLS carries inside its tunnel (RFC 5281 §10: Diameter's format):
 * Code (4), Flags (1: V vendor, M mandatory), Length (3, header included, padding
 * not), Vendor-ID (4) when V, Data, then padding to a multiple of 4. Pure.
 */
export interface Avp {
  readonly code: number;
  readonly vendor?: number;
  readonly mandatory: boolean;
  readonly data: Buffer;
}

const FLAG_VENDOR = 0x80;
const FLAG_MANDATORY = 0x40;
/** RFC 5281 §11.2: the RADIUS attribute numbers, as AVP codes. */
export const AvpCode = { UserName: 1, UserPassword: 2 } as const;
/** At most this many AVPs in one message: a peer cannot make us build a long list. */
const MAX_AVPS = 64;

export function parseAvps(bytes: Buffer): { ok: true; avps: Avp[] } | { ok: false; problem: string } {
  const avps: Avp[] = [];
  for (let at = 0; at < bytes.length; ) {
    if (avps.length >= MAX_AVPS) return { ok: false, problem: `more than ${MAX_AVPS} AVPs` };
    if (at + 8 > bytes.length) return { ok: false, problem: 'an AVP header cut short' };
    const code = bytes.readUInt32BE(at);
    const flags = bytes[at + 4]!;
    const length = bytes.readUIntBE(at + 5, 3);
    const header = flags & FLAG_VENDOR ? 12 : 8;
    if (length < header || at + length > bytes.length) return { ok: false, problem: `an AVP of code ${code} whose length ${length} does not fit` };
    const vendor = flags & FLAG_VENDOR ? bytes.readUInt32BE(at + 8) : undefined;
    avps.push({ code, mandatory: (flags & FLAG_MANDATORY) !== 0, data: bytes.subarray(at + header, at + length), ...(vendor !== undefined ? { vendor } : {}) });
    at += Math.ceil(length / 4) * 4;
  }
  return { ok: true, avps };
}

/**
 * The username and password of a PAP exchange (RFC 5281 §11.2.5): User-Name and
 * User-Password AVPs without a vendor; the password padded with NULs to a multiple of
 * 16 octets, which are taken off. An unknown AVP marked mandatory is refused (§10.1).
 */
export function papCredentials(avps: readonly Avp[]): { ok: true; username: string; password: string } | { ok: false; problem: string } {
  let username: string | undefined;
  let password: string | undefined;
  for (const avp of avps) {
    if (avp.vendor === undefined && avp.code === AvpCode.UserName) username = avp.data.toString('utf8');
    else if (avp.vendor === undefined && avp.code === AvpCode.UserPassword) password = avp.data.toString('utf8').replace(/\0+$/, '');
    else if (avp.mandatory) return { ok: false, problem: `an unknown mandatory AVP (code ${avp.code}${avp.vendor !== undefined ? `, vendor ${avp.vendor}` : ''}): only PAP is answered inside EAP-TTLS` };
  }
  if (username === undefined || username === '') return { ok: false, problem: 'no User-Name inside the tunnel' };
  if (password === undefined) return { ok: false, problem: 'no User-Password inside the tunnel (only PAP is answered inside EAP-TTLS)' };
  return { ok: true, username, password };
}
