import type { Context } from 'koa';
import { NotFoundError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import { render } from '../respond.js';

/**
 * GET /portal/logo?v=<version>: portal.branding.logo_file as the last start or reload read
 * it. Pages link it with its version (branding.ts Logo.version), so the answer to the
 * current version is cached for a year: a reload that changes the logo changes the link.
 * Any other version (a page shown before the reload, still open) or none gets the current
 * logo too, rather than a broken image, but browsers must ask again before using it
 * (no-cache, answered 304 while the ETag, the version, is the same), so that address
 * never holds on to a logo. An SVG opened on its own is a document of the portal's
 * origin: the policy every answer carries (default-src 'none', app.ts) lets it run no
 * script, and `sandbox` makes sure of it here.
 */
export function logoAction(ctx: Context, deps: PortalDeps): void {
  const logo = deps.branding?.get().logo;
  if (!logo) throw new NotFoundError('No logo is configured.');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  ctx.set('Cache-Control', ctx.query.v === logo.version ? `public, max-age=${YEAR_S}, immutable` : 'no-cache');
  ctx.type = logo.type;
  ctx.body = logo.bytes;
  // RFC 9110 §13.1.2: a browser asking again with the version it holds gets a 304.
  ctx.etag = logo.version;
  if (ctx.fresh) ctx.status = 304;
}

/** A year; `immutable` (RFC 8246) tells browsers not to ask again while it lasts. */
const YEAR_S = 365 * 24 * 3600;

/** GET /portal/terms: portal.terms, the text a person accepts on the enroll form, to read in full. */
export function termsAction(ctx: Context, deps: PortalDeps): void {
  const terms = deps.branding?.get().terms;
  if (!terms) throw new NotFoundError('No terms of use are configured.');
  render(ctx, deps, 'terms.njk', { text: terms.paragraphs });
}
