import type { Context } from 'koa';
import { NotFoundError } from '../../errors.js';
import type { PortalDeps } from '../deps.js';
import { render } from '../respond.js';

/**
 * GET /portal/logo: portal.branding.logo_file, read at start. Cached for a day (every page
 * shows it). An SVG opened on its own is a document of the portal's origin: the policy
 * every answer carries (default-src 'none', app.ts) lets it run no script, and `sandbox`
 * makes sure of it here.
 */
export function logoAction(ctx: Context, deps: PortalDeps): void {
  const logo = deps.branding?.get().logo;
  if (!logo) throw new NotFoundError('No logo is configured.');
  ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  ctx.set('Cache-Control', 'public, max-age=86400');
  ctx.type = logo.type;
  ctx.body = logo.bytes;
}

/** GET /portal/terms: portal.terms, the text a person accepts on the enroll form, to read in full. */
export function termsAction(ctx: Context, deps: PortalDeps): void {
  const terms = deps.branding?.get().terms;
  if (!terms) throw new NotFoundError('No terms of use are configured.');
  render(ctx, deps, 'terms.njk', { text: terms.paragraphs });
}
