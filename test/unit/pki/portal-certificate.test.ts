import { describe, expect, it } from 'vitest';
import { createCa, issueServerCertificate } from '../../../src/pki/ca.js';
import { portalCertificateProblem, portalCertificateWarning } from '../../../src/pki/portal-certificate.js';

/**
 * Whether phones will trust the portal's certificate: one from the gateway's own CA (what
 * init makes) never; one from a public root for the base URL's host, yes. A CA made here
 * stands in for a public root (the check takes the roots as a parameter; by default Node's).
 */
const gatewayCa = createCa({ commonName: 'enrollgate root CA (test)' });
const publicCa = createCa({ commonName: 'Stand-in Public Root' });
const privateCa = createCa({ commonName: 'Some Private CA' });
const now = new Date();
const check = (certPem: string, baseUrl = 'https://wifi.example.org', at = now) =>
  portalCertificateProblem({ certPem, gatewayCaPem: gatewayCa.certPem, baseUrl, now: at, roots: [publicCa.certPem] });

describe('portalCertificateProblem', () => {
  const fromGateway = issueServerCertificate(gatewayCa, { names: ['wifi.example.org'] }).certPem;
  const fromPublic = issueServerCertificate(publicCa, { names: ['wifi.example.org'] }).certPem;

  it("finds init's certificate, from the gateway's own CA, untrusted", () => {
    expect(check(fromGateway)).toBe("it is issued by the gateway's own CA, which phones do not trust");
  });

  it('passes a certificate from a public root for the base URL host, and one with its chain after it', () => {
    expect(check(fromPublic)).toBeUndefined();
    expect(check(`${fromPublic}\n${publicCa.certPem}`)).toBeUndefined();
  });

  it('finds a certificate for another host, from a private CA, or expired, untrusted, and says why', () => {
    expect(check(fromPublic, 'https://portal.example.org')).toBe('it is not for portal.example.org, the host of portal.base_url');
    expect(check(issueServerCertificate(privateCa, { names: ['wifi.example.org'] }).certPem)).toMatch(/^it does not chain to a public root CA/);
    expect(check(fromPublic, 'https://wifi.example.org', new Date(now.getTime() + 900 * 86_400_000))).toMatch(/^it expired on /);
    expect(check(issueServerCertificate(publicCa, { names: ['10.0.0.1'] }).certPem, 'https://10.0.0.1:8443')).toMatch(/give the portal a DNS name$/);
    expect(check('not a certificate')).toBe('it holds no PEM certificate');
  });

  it('says nothing for a plain-HTTP base URL (no certificate involved)', () => {
    expect(check(fromGateway, 'http://wifi.example.org')).toBeUndefined();
  });

  it('with Node\'s bundled roots, a certificate from a CA made here is not public', () => {
    expect(portalCertificateProblem({ certPem: fromPublic, gatewayCaPem: gatewayCa.certPem, baseUrl: 'https://wifi.example.org', now })).toMatch(/^it does not chain to a public root CA/);
  });

  it('the warning names the key, what a phone sees and where to read how to get one', () => {
    const w = portalCertificateWarning("it is issued by the gateway's own CA, which phones do not trust");
    expect(w).toMatch(/^portal\.https\.cert_file: a publicly trusted certificate is needed for the HTTPS portal, and it is issued by the gateway's own CA/);
    expect(w).toContain('This Connection Is Not Private');
    expect(w).toContain('README, "The portal\'s certificate"');
  });
});
