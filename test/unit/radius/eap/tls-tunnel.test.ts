import { describe, expect, it } from 'vitest';
import { peerOfSession } from '../../../../src/radius/eap/tls-tunnel.js';

/**
 * peerOfSession on encodings made by hand (real sessions, TLS 1.2 and 1.3, with and without
 * a client certificate: tls-method.test.ts). Anything it cannot read is undefined, so that
 * the tunnel asks OpenSSL instead; a session it reads without a certificate is null.
 */
const tlv = (tag: number, content: Buffer): Buffer => {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
};
const seq = (...members: Buffer[]) => tlv(0x30, Buffer.concat(members));
const int = (n: number) => tlv(0x02, Buffer.from([n]));
const octets = (size: number) => tlv(0x04, Buffer.alloc(size, 7));
/** A certificate's outline: a SEQUENCE long enough to need a two-octet length. */
const certificate = seq(seq(int(2), octets(300)), seq(tlv(0x06, Buffer.from([0x2a]))), tlv(0x03, Buffer.alloc(65, 1)));
/** The members before the peer: version, protocol, cipher, session ID, master key, [1] time, [2] timeout. */
const head = [int(1), tlv(0x02, Buffer.from([0x03, 0x03])), octets(2), octets(32), octets(48), tlv(0xa1, int(9)), tlv(0xa2, int(9))];

describe('peerOfSession', () => {
  it('finds the [3] certificate, whole, among the members', () => {
    expect(peerOfSession(seq(...head, tlv(0xa3, certificate), tlv(0xa4, octets(4))))).toEqual(certificate);
  });

  it('null for a session that holds no certificate: the members end, or one after [3] comes', () => {
    expect(peerOfSession(seq(...head))).toBeNull();
    expect(peerOfSession(seq(...head, tlv(0xa4, octets(4)), tlv(0xa5, int(0))))).toBeNull();
  });

  it.each([
    ['nothing', Buffer.alloc(0)],
    ['not a SEQUENCE', tlv(0x31, Buffer.concat([...head, tlv(0xa3, certificate)]))],
    ['bytes after the SEQUENCE', Buffer.concat([seq(...head, tlv(0xa3, certificate)), Buffer.from([0])])],
    ['a SEQUENCE cut short', seq(...head, tlv(0xa3, certificate)).subarray(0, 200)],
    ['[3] holding something other than one SEQUENCE', seq(...head, tlv(0xa3, octets(10)))],
    ['[3] holding a SEQUENCE and more', seq(...head, tlv(0xa3, Buffer.concat([certificate, int(0)])))],
    ['a member longer than the session', Buffer.from([0x30, 0x04, 0x04, 0x7f, 0x00, 0x00])],
    ['a length in indefinite form', Buffer.from([0x30, 0x80, 0x00, 0x00])],
    ['a length in more octets than any session needs', Buffer.from([0x30, 0x84, 0x00, 0x00, 0x00, 0x00])],
    ['a tag in several octets', seq(tlv(0xbf, Buffer.alloc(0)))],
  ])('undefined for %s', (_what, encoded) => {
    expect(peerOfSession(encoded)).toBeUndefined();
  });
});
