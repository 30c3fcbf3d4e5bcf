/**
 * Where a certificate of the gateway's CA says its revocation can be checked: the CRL
 * Distribution Points (RFC 5280 §4.2.1.13) and Authority Information Access with the
 * OCSP responder (RFC 5280 §4.2.2.1, RFC 6960). Every certificate the CA issues
 * carries both (signLeafCertificate adds them).
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AccessDescription,
  AuthorityInfoAccessSyntax,
  CRLDistributionPoints,
  DistributionPoint,
  DistributionPointName,
  GeneralName,
  id_ad_ocsp,
  id_ce_cRLDistributionPoints,
  id_pe_authorityInfoAccess,
} from '@peculiar/asn1-x509';

/** The portal paths the CRL and the OCSP responder are served at (portal/routes.ts names them). */
export const CRL_PATH = '/pki/crl.der';
export const OCSP_PATH = '/pki/ocsp';

/** The URLs named in issued certificates. */
export interface RevocationUrls {
  /** Where the DER CRL is downloaded. */
  readonly crl: string;
  /** The OCSP responder (POST, or GET with the request appended). */
  readonly ocsp: string;
}

/** pki.crl_url and pki.ocsp_url when set, else the fixed paths under portal.base_url. */
export function revocationUrls(config: { readonly portal: { readonly base_url: string }; readonly pki: { readonly crl_url?: string | undefined; readonly ocsp_url?: string | undefined } }): RevocationUrls {
  const base = config.portal.base_url.replace(/\/+$/, '');
  return { crl: config.pki.crl_url ?? `${base}${CRL_PATH}`, ocsp: config.pki.ocsp_url ?? `${base}${OCSP_PATH}` };
}

/** The two extensions as node-forge takes prebuilt ones ({ id, value: DER as a binary string }); both non-critical (RFC 5280 §4.2.1.13, §4.2.2.1). */
export function revocationExtensions(urls: RevocationUrls): Array<{ id: string; critical: false; value: string }> {
  const cdp = new CRLDistributionPoints([
    new DistributionPoint({ distributionPoint: new DistributionPointName({ fullName: [new GeneralName({ uniformResourceIdentifier: urls.crl })] }) }),
  ]);
  const aia = new AuthorityInfoAccessSyntax([new AccessDescription({ accessMethod: id_ad_ocsp, accessLocation: new GeneralName({ uniformResourceIdentifier: urls.ocsp }) })]);
  return [
    { id: id_ce_cRLDistributionPoints, critical: false, value: Buffer.from(AsnConvert.serialize(cdp)).toString('binary') },
    { id: id_pe_authorityInfoAccess, critical: false, value: Buffer.from(AsnConvert.serialize(aia)).toString('binary') },
  ];
}
