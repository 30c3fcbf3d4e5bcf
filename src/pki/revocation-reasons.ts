/**
 * Why a certificate was revoked (RFC 5280 §5.3.1 reason codes) and the entry the revocation
 * list keeps: apart from crl.ts, which builds the signed CRL with an ASN.1 library that the
 * command line (devices, sessions) would otherwise load at every run for these few names.
 */

/** RFC 5280 §5.3.1 CRLReason codes the gateway uses. */
export const CRL_REASON = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type CrlReasonName = keyof typeof CRL_REASON;
export type CrlReasonCode = (typeof CRL_REASON)[CrlReasonName];

/** The RFC 5280 name of a reason code (for logs and the audit trail). */
export function crlReasonName(code: CrlReasonCode): CrlReasonName {
  return (Object.keys(CRL_REASON) as CrlReasonName[]).find((name) => CRL_REASON[name] === code) ?? 'unspecified';
}

/** One entry of the revoked-certificates list, as stored (src/pki/revocation-list.ts). */
export interface RevokedCertificateEntry {
  /** Canonical serial (serial.ts). */
  readonly serial: string;
  /** ISO 8601. */
  readonly revokedAt: string;
  readonly reason: CrlReasonCode;
  /** The certificate's notAfter (ISO 8601): the entry is kept until it has appeared on a CRL issued after it. */
  readonly notAfter: string;
}
