/**
 * What the portal serves about revocation: the CA's current CRL and its OCSP answers,
 * both read from the revoked-certificates list in the state store (so every gateway
 * sharing a Redis answers alike) and signed by the CA.
 *
 * A CRL is signed again when the list has changed (by this gateway or another) or when
 * the one kept is older than CRL_REISSUE_MS; it promises the next one within
 * CRL_VALIDITY_MS (nextUpdate). Its number (RFC 5280 §5.2.3) is its thisUpdate in
 * milliseconds: it increases with every CRL without a counter shared between gateways.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { IssuingCa } from './ca.js';
import { caFacts, type CaFacts } from './ca-facts.js';
import { buildCrl } from './crl.js';
import type { CrlReasonCode } from './revocation-reasons.js';
import { buildOcspResponse, MalformedOcspRequest, ocspErrorResponse, OCSPResponseStatus, parseOcspRequest, type OcspAnswer } from './ocsp.js';
import type { RevocationList } from './revocation-list.js';

/** nextUpdate of a CRL: relying parties that cache it look again within a day. */
export const CRL_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** A CRL kept is signed anew after an hour even when nothing changed, so its nextUpdate stays far ahead. */
const CRL_REISSUE_MS = 60 * 60 * 1000;
/** nextUpdate of an OCSP answer: how long a client may rely on it. */
export const OCSP_VALIDITY_MS = 60 * 60 * 1000;

/** How an OCSP exchange ended, for the log and metrics. */
export type OcspOutcome = 'answered' | 'malformed' | 'store_unavailable';

export class RevocationPublisher {
  private readonly facts: CaFacts;
  private kept: { der: Buffer; digest: string; at: number; number: number } | undefined;

  constructor(
    private readonly deps: {
      readonly issuer: IssuingCa;
      readonly revocations: RevocationList;
      readonly clock: Clock;
    },
  ) {
    this.facts = caFacts(deps.issuer.x509, Buffer.from(deps.issuer.keyIdentifier, 'binary'));
  }

  /** The current CRL (DER), signed again when the list changed or the kept one is an hour old. */
  async crl(): Promise<{ der: Buffer; nextUpdate: Date }> {
    const now = this.deps.clock.now();
    const entries = await this.deps.revocations.list();
    const digest = createHash('sha256')
      .update(JSON.stringify(entries.map((e) => [e.serial, e.revokedAt, e.reason]).sort()))
      .digest('hex');
    const kept = this.kept;
    if (kept && kept.digest === digest && now.getTime() - kept.at < CRL_REISSUE_MS && now.getTime() >= kept.at) {
      return { der: kept.der, nextUpdate: new Date(kept.at + CRL_VALIDITY_MS) };
    }
    // Whole seconds: what the CRL says (X.509 times have no fractions) is what is kept.
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + CRL_VALIDITY_MS);
    // Two CRLs within one second (the list changed twice) still get increasing numbers.
    const number = Math.max(thisUpdate.getTime(), (kept?.number ?? 0) + 1);
    const der = buildCrl(this.facts, this.deps.issuer.key, { entries, thisUpdate, nextUpdate, number });
    this.kept = { der, digest, at: thisUpdate.getTime(), number };
    return { der, nextUpdate };
  }

  /**
   * The DER OCSPResponse to a DER OCSPRequest: good, revoked or unknown (another CA)
   * for each certificate asked about; malformedRequest for anything unreadable, and
   * tryLater (RFC 6960 §2.3) while the state store cannot be read.
   */
  async ocsp(request: Uint8Array): Promise<{ der: Buffer; outcome: OcspOutcome }> {
    let parsed;
    try {
      parsed = parseOcspRequest(request, this.facts);
    } catch (err) {
      if (err instanceof MalformedOcspRequest) return { der: ocspErrorResponse(OCSPResponseStatus.malformedRequest), outcome: 'malformed' };
      throw err;
    }
    const now = this.deps.clock.now();
    let answers: OcspAnswer[];
    try {
      answers = await Promise.all(
        parsed.questions.map(async (q): Promise<OcspAnswer> => {
          if (q.serial === undefined) return { certId: q.certId, status: { kind: 'unknown' } };
          const revoked = await this.deps.revocations.status(q.serial);
          // RFC 6960 §2.2: good says the certificate is not revoked, not that it was ever issued.
          return {
            certId: q.certId,
            status: revoked ? { kind: 'revoked', at: new Date(revoked.revokedAt), reason: revoked.reason as CrlReasonCode } : { kind: 'good' },
          };
        }),
      );
    } catch {
      return { der: ocspErrorResponse(OCSPResponseStatus.tryLater), outcome: 'store_unavailable' };
    }
    const der = buildOcspResponse(this.facts, this.deps.issuer.key, {
      answers,
      producedAt: now,
      nextUpdate: new Date(now.getTime() + OCSP_VALIDITY_MS),
      ...(parsed.nonce ? { nonce: parsed.nonce } : {}),
    });
    return { der, outcome: 'answered' };
  }
}
