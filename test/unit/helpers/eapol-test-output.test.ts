import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEapolTestOutput } from '../../helpers/eapol-test.js';
import { supplicantNetwork } from '../../helpers/supplicant-network.js';

/**
 * The parser the 802.1X integration tests read eapol_test with, on output captured from
 * eapol_test 2.10 against a private FreeRADIUS 3.2.1 (throwaway certificates). tls13.txt is
 * the whole output; the others keep only the lines the parser reads, verbatim and in order.
 */
const fixture = (name: string): string => readFileSync(new URL(`fixtures/eapol-test/${name}.txt`, import.meta.url), 'utf8');

describe('parseEapolTestOutput', () => {
  it('reads a TLS 1.3 EAP-TLS success from the full output', () => {
    const r = parseEapolTestOutput(fixture('tls13'), 0);
    expect(r).toMatchObject({
      success: true,
      timedOut: false,
      killed: false,
      mppe: { ok: 1, mismatch: 0 },
      mppeKeysOk: true,
      method: 'TLS',
      tlsVersion: 'TLSv1.3',
      resumed: false,
      radiusCode: 'Accept',
      roundTrips: 5,
      accessChallenges: 4,
    });
    expect(r.runs).toHaveLength(1);
    expect(r.runs[0]!.sessionTickets).toBe(1);
    expect(r.replyAttributes.map((a) => a.name)).toEqual(['Vendor-Specific', 'Vendor-Specific', 'EAP-Message', 'Message-Authenticator', 'User-Name']);
    expect(r.replyAttributes.find((a) => a.type === 1)?.value).toBe('alice@lab.example');
    // MS-MPPE-Recv-Key: vendor 311 (0x137), type 17, as hex.
    expect(r.replyAttributes[0]!.value).toMatch(/^0000013711/);
  });

  it('reads the TLS version of a TLS 1.2 conversation', () => {
    const r = parseEapolTestOutput(fixture('tls12'), 0);
    expect(r).toMatchObject({ success: true, mppeKeysOk: true, tlsVersion: 'TLSv1.2', radiusCode: 'Accept', roundTrips: 5 });
    expect(r.runs[0]!.sessionTickets).toBe(0);
  });

  it('counts each re-authentication (-r 1) as a run of its own', () => {
    const r = parseEapolTestOutput(fixture('tls12-reauth'), 0);
    expect(r.runs).toHaveLength(2);
    expect(r.runs.map((run) => [run.radiusCode, run.roundTrips, run.resumed, run.eapSuccess])).toEqual([
      ['Accept', 5, false, true],
      ['Accept', 5, false, true],
    ]);
    expect(r).toMatchObject({ mppe: { ok: 2, mismatch: 0 }, mppeKeysOk: true, roundTrips: 10, accessChallenges: 8 });
    // Keys that matched in one run of two are not "keys OK".
    expect(parseEapolTestOutput(fixture('tls12-reauth').replace('MPPE keys OK: 2  mismatch: 0', 'MPPE keys OK: 1  mismatch: 0'), 0).mppeKeysOk).toBe(false);
  });

  it('sees a resumed handshake', () => {
    const text = fixture('tls12-reauth');
    const cut = text.lastIndexOf('resumed=0');
    const r = parseEapolTestOutput(`${text.slice(0, cut)}resumed=1${text.slice(cut + 'resumed=0'.length)}`, 0);
    expect(r.runs.map((run) => run.resumed)).toEqual([false, true]);
    expect(r.resumed).toBe(true);
  });

  it('reads a rejected client certificate from a foreign CA', () => {
    const r = parseEapolTestOutput(fixture('tls13-foreign-ca'), 252);
    expect(r).toMatchObject({ success: false, mppeKeysOk: false, mppe: { ok: 0, mismatch: 1 }, radiusCode: 'Reject', roundTrips: 4, accessChallenges: 3 });
    expect(r.runs[0]).toMatchObject({ eapSuccess: false, eapFailure: true });
    expect(r.replyAttributes.map((a) => a.name)).toEqual(['EAP-Message', 'Message-Authenticator']);
  });

  it('names the tunnelled methods', () => {
    expect(parseEapolTestOutput(fixture('ttls-pap'), 0)).toMatchObject({ success: true, method: 'TTLS', mppeKeysOk: true, roundTrips: 6 });
    expect(parseEapolTestOutput(fixture('peap-mschapv2'), 0)).toMatchObject({ success: true, method: 'PEAP', mppeKeysOk: true, roundTrips: 10 });
  });

  it('reads a server that never answered', () => {
    const r = parseEapolTestOutput(fixture('no-server'), 252);
    expect(r).toMatchObject({ success: false, timedOut: true, mppeKeysOk: false, roundTrips: 0, accessChallenges: 0, replyAttributes: [] });
    expect(r.radiusCode).toBeUndefined();
  });

  it('wants both exit 0 and the SUCCESS line', () => {
    expect(parseEapolTestOutput(fixture('tls12'), 252).success).toBe(false);
    expect(parseEapolTestOutput(fixture('tls12').replace(/^SUCCESS$/m, ''), 0).success).toBe(false);
    expect(parseEapolTestOutput(fixture('tls12'), null, true)).toMatchObject({ success: false, killed: true });
  });
});

describe('supplicantNetwork', () => {
  it('writes the block eapol_test and wpa_supplicant read', () => {
    const block = supplicantNetwork({
      method: 'TTLS',
      identity: 'alice',
      anonymousIdentity: 'anonymous@lab.example',
      caCert: '/tmp/ca.pem',
      password: 'pw',
      phase2: 'auth=PAP',
      fragmentSize: 500,
      domainSuffixMatch: 'lab.example',
    });
    expect(block).toBe(
      'network={\n\tkey_mgmt=IEEE8021X\n\teap=TTLS\n\tidentity="alice"\n\tanonymous_identity="anonymous@lab.example"\n' +
        '\tca_cert="/tmp/ca.pem"\n\tpassword="pw"\n\tphase2="auth=PAP"\n\tdomain_suffix_match="lab.example"\n\tfragment_size=500\n\teapol_flags=0\n}\n',
    );
  });

  it('refuses what wpa_supplicant cannot quote', () => {
    expect(() => supplicantNetwork({ method: 'TLS', identity: 'a"b' })).toThrow(/identity/);
    expect(() => supplicantNetwork({ method: 'PEAP', identity: 'a', password: 'x\ny' })).toThrow(/password/);
  });
});
