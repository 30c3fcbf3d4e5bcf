import { describe, expect, it } from 'vitest';
import { AvpCode, papCredentials, parseAvps, type Avp } from '../../../../src/radius/eap/ttls-avp.js';

/** One AVP as RFC 5281 §10.1 lays it out, written by hand: code, flags, 3-octet length, [vendor], data, padding. */
function avp(code: number, flags: number, data: Buffer, vendor?: number): Buffer {
  const header = vendor === undefined ? 8 : 12;
  const length = header + data.length;
  const out = Buffer.alloc(Math.ceil(length / 4) * 4);
  out.writeUInt32BE(code, 0);
  out[4] = flags;
  out.writeUIntBE(length, 5, 3);
  if (vendor !== undefined) out.writeUInt32BE(vendor, 8);
  data.copy(out, header);
  return out;
}

const M = 0x40;
const V = 0x80;

describe('parseAvps (RFC 5281 §10.1)', () => {
  it('reads User-Name and User-Password, skipping the padding between them', () => {
    // User-Name "bob": length 11, padded to 12; User-Password "secret" + 10 NULs: length 24.
    const bytes = Buffer.from(
      '00000001' + '40' + '00000b' + '626f62' + '00' + '00000002' + '40' + '000018' + '736563726574' + '00'.repeat(10),
      'hex',
    );
    expect(parseAvps(bytes)).toEqual({
      ok: true,
      avps: [
        { code: 1, mandatory: true, data: Buffer.from('bob') },
        { code: 2, mandatory: true, data: Buffer.from('secret\0\0\0\0\0\0\0\0\0\0') },
      ],
    });
  });

  it('reads the vendor of an AVP with V set, and M clear as not mandatory', () => {
    const bytes = avp(26, V, Buffer.from('ab'), 311);
    expect(bytes.toString('hex')).toBe('0000001a' + '80' + '00000e' + '00000137' + '6162' + '0000');
    expect(parseAvps(bytes)).toEqual({ ok: true, avps: [{ code: 26, vendor: 311, mandatory: false, data: Buffer.from('ab') }] });
  });

  it('reads an AVP with no data (length 8) and one whose length is a multiple of 4 (no padding)', () => {
    const bytes = Buffer.concat([avp(7, 0, Buffer.alloc(0)), avp(8, M, Buffer.from('abcd'))]);
    expect(parseAvps(bytes)).toEqual({
      ok: true,
      avps: [
        { code: 7, mandatory: false, data: Buffer.alloc(0) },
        { code: 8, mandatory: true, data: Buffer.from('abcd') },
      ],
    });
  });

  it('reads nothing as no AVPs', () => {
    expect(parseAvps(Buffer.alloc(0))).toEqual({ ok: true, avps: [] });
  });

  it('takes 64 AVPs and refuses a 65th', () => {
    const one = avp(1, 0, Buffer.alloc(0));
    const sixtyFour = parseAvps(Buffer.concat(Array.from({ length: 64 }, () => one)));
    expect(sixtyFour.ok && sixtyFour.avps.length).toBe(64);
    expect(parseAvps(Buffer.concat(Array.from({ length: 65 }, () => one)))).toEqual({ ok: false, problem: 'more than 64 AVPs' });
  });

  it.each([
    ['a header of 7 octets', '00000001400000', 'an AVP header cut short'],
    ['a second header cut short', '0000000100000008' + '00000001', 'an AVP header cut short'],
    ['a length under the header', '00000005' + '40' + '000007', 'an AVP of code 5 whose length 7 does not fit'],
    ['a vendor AVP whose length leaves no room for the vendor', '00000005' + 'c0' + '00000b' + '00000000', 'an AVP of code 5 whose length 11 does not fit'],
    ['a length past the end', '00000005' + '40' + '00000a' + '61', 'an AVP of code 5 whose length 10 does not fit'],
  ])('refuses %s', (_name, hex, problem) => {
    expect(parseAvps(Buffer.from(hex, 'hex'))).toEqual({ ok: false, problem });
  });

  it('takes an AVP that ends exactly at the end of the message without its padding', () => {
    // Length 9 (one octet of data), no padding after it: the last AVP may stop there.
    expect(parseAvps(Buffer.from('00000001' + '00' + '000009' + '61', 'hex'))).toEqual({ ok: true, avps: [{ code: 1, mandatory: false, data: Buffer.from('a') }] });
  });
});

describe('papCredentials (RFC 5281 §11.2.5)', () => {
  const name = (s: string, more: Partial<Avp> = {}): Avp => ({ code: AvpCode.UserName, mandatory: true, data: Buffer.from(s), ...more });
  const password = (s: string, more: Partial<Avp> = {}): Avp => ({ code: AvpCode.UserPassword, mandatory: true, data: Buffer.from(s), ...more });

  it('gives the username and the password without its NUL padding', () => {
    expect(papCredentials([name('alice'), password('pa\0ss\0\0\0')])).toEqual({ ok: true, username: 'alice', password: 'pa\0ss' });
    expect(papCredentials([password('x'), name('bob')])).toEqual({ ok: true, username: 'bob', password: 'x' });
  });

  it('takes an empty password (the directory refuses it, not the tunnel)', () => {
    expect(papCredentials([name('alice'), password('\0'.repeat(16))])).toEqual({ ok: true, username: 'alice', password: '' });
  });

  it('skips an unknown AVP not marked mandatory', () => {
    expect(papCredentials([name('alice'), { code: 99, mandatory: false, data: Buffer.from('?') }, password('pw')])).toEqual({ ok: true, username: 'alice', password: 'pw' });
  });

  it('refuses an unknown mandatory AVP, naming its code and vendor', () => {
    expect(papCredentials([name('alice'), { code: 99, mandatory: true, data: Buffer.alloc(0) }, password('pw')])).toEqual({
      ok: false,
      problem: 'an unknown mandatory AVP (code 99): only PAP is answered inside EAP-TTLS',
    });
    // A vendor's AVP with the User-Name's code is not User-Name.
    expect(papCredentials([name('alice', { vendor: 311 }), password('pw')])).toEqual({
      ok: false,
      problem: 'an unknown mandatory AVP (code 1, vendor 311): only PAP is answered inside EAP-TTLS',
    });
    expect(papCredentials([name('alice'), password('pw', { vendor: 311 })])).toEqual({
      ok: false,
      problem: 'an unknown mandatory AVP (code 2, vendor 311): only PAP is answered inside EAP-TTLS',
    });
  });

  it('refuses a missing or empty User-Name, and a missing User-Password', () => {
    expect(papCredentials([password('pw')])).toEqual({ ok: false, problem: 'no User-Name inside the tunnel' });
    expect(papCredentials([name(''), password('pw')])).toEqual({ ok: false, problem: 'no User-Name inside the tunnel' });
    expect(papCredentials([name('alice')])).toEqual({ ok: false, problem: 'no User-Password inside the tunnel (only PAP is answered inside EAP-TTLS)' });
  });
});
