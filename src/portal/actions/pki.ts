import type { Context } from 'koa';
import { BodyTooLargeError, NotFoundError, UnsupportedMediaTypeError } from '../../errors.js';
import { MAX_OCSP_REQUEST_BYTES } from '../../pki/ocsp.js';
import type { PortalDeps } from '../deps.js';

/**
 * The gateway CA's revocation status, served over plain HTTP and HTTPS alike (relying
 * parties fetch CRLs and ask OCSP over HTTP: RFC 5280 §4.2.1.13, RFC 6960 Appendix A;
 * the answers are signed, so transport security adds nothing). No flow, no cookie.
 */

const CRL_TYPE = 'application/pkix-crl';
const OCSP_REQUEST_TYPE = 'application/ocsp-request';
const OCSP_RESPONSE_TYPE = 'application/ocsp-response';

function publisher(deps: PortalDeps) {
  if (!deps.revocation) throw new NotFoundError('This gateway publishes no revocation status.');
  return deps.revocation;
}

/** GET /pki/crl.der: the current CRL (DER, RFC 5280 §5), cacheable until shortly before its nextUpdate. */
export async function crlAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const { der, nextUpdate } = await publisher(deps).crl();
  ctx.type = CRL_TYPE;
  // Cached for at most an hour: a revocation made now must reach relying parties soon.
  const seconds = Math.max(0, Math.min(3600, Math.floor((nextUpdate.getTime() - deps.clock.now().getTime()) / 1000)));
  ctx.set('Cache-Control', `public, max-age=${seconds}, no-transform`);
  ctx.body = der;
}

/** POST /pki/ocsp: an OCSPRequest in the body (RFC 6960 Appendix A.1), at most MAX_OCSP_REQUEST_BYTES. */
export async function ocspPostAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const revocation = publisher(deps);
  if (!ctx.is(OCSP_REQUEST_TYPE)) throw new UnsupportedMediaTypeError(`Send the OCSP request as ${OCSP_REQUEST_TYPE}.`);
  const body = await readBody(ctx, MAX_OCSP_REQUEST_BYTES);
  await answer(ctx, deps, revocation, body, 'no-store');
}

/**
 * GET /pki/ocsp/<request>: the DER request base64-encoded and URL-escaped (RFC 6960
 * Appendix A.1), for clients and caches that prefer GET.
 */
export async function ocspGetAction(ctx: Context, deps: PortalDeps): Promise<void> {
  const revocation = publisher(deps);
  const encoded = ctx.path.slice(ctx.path.indexOf('/pki/ocsp/') + '/pki/ocsp/'.length);
  // Base64 is 4/3 of the bytes; anything longer is refused before it is decoded.
  if (encoded.length > Math.ceil((MAX_OCSP_REQUEST_BYTES * 4) / 3) * 3) throw new BodyTooLargeError(`The OCSP request is too large (at most ${MAX_OCSP_REQUEST_BYTES} bytes).`);
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    text = '';
  }
  // A request that is not base64 decodes to bytes that are not an OCSPRequest: answered malformedRequest.
  const request = /^[A-Za-z0-9+/]*={0,2}$/.test(text) ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  await answer(ctx, deps, revocation, request, 'public, max-age=300, no-transform');
}

async function answer(ctx: Context, deps: PortalDeps, revocation: NonNullable<PortalDeps['revocation']>, request: Buffer, cache: string): Promise<void> {
  const { der, outcome } = await revocation.ocsp(request);
  if (outcome === 'store_unavailable') deps.log.error({ event: 'ocsp.store_unavailable' }, 'OCSP answered tryLater: the state store cannot be read');
  else if (outcome === 'malformed') deps.log.info({ event: 'ocsp.malformed', bytes: request.length }, 'malformed OCSP request');
  // RFC 6960 Appendix A.2: the status travels inside the OCSPResponse, the HTTP status is 200.
  ctx.status = 200;
  ctx.type = OCSP_RESPONSE_TYPE;
  ctx.set('Cache-Control', outcome === 'answered' ? cache : 'no-store');
  ctx.body = der;
}

/** The request body, refused with 413 past `limit` bytes (announced or sent). */
async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const announced = Number(ctx.get('Content-Length') || '0');
  const tooLarge = () => new BodyTooLargeError(`The OCSP request is too large (at most ${limit} bytes).`);
  if (announced > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // Stop reading; the connection closes after the answer rather than draining a flood.
      ctx.set('Connection', 'close');
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
