import type { Context } from 'koa';
import type { Languages } from './languages.js';

declare module 'koa' {
  interface DefaultState {
    /** This request's page language, once pageLanguage worked it out (for these languages: a reload may bring others). */
    pageLanguage?: { readonly languages: Languages; readonly lang: string };
  }
}

/** Remembers a visitor's own choice of language (?lang=), for the portal's pages only. */
export const LANGUAGE_COOKIE = 'eg_lang';

/** A year: the choice is a preference, not a secret. */
const LANGUAGE_COOKIE_MS = 365 * 24 * 3600 * 1000;

/**
 * The language of this page: the visitor's choice (?lang=xx, then remembered in a cookie
 * scoped to /portal, both matched as Accept-Language is: DE, de-DE and De are de, see
 * Languages.choose), else the best offered match for Accept-Language (q-values, and a
 * regional tag such as de-AT matches de: koa's acceptsLanguages, through `negotiator`),
 * else the default. A ?lang= or cookie naming a language not offered is ignored.
 */
export function pageLanguage(ctx: Context, languages: Languages): string {
  // A page asks several times (its words, a refusal's, render's); Accept-Language is parsed once.
  const known = ctx.state.pageLanguage;
  if (known?.languages === languages) return known.lang;
  const lang = resolvePageLanguage(ctx, languages);
  ctx.state.pageLanguage = { languages, lang };
  return lang;
}

function resolvePageLanguage(ctx: Context, languages: Languages): string {
  const asked = typeof ctx.query.lang === 'string' ? languages.choose(ctx.query.lang) : undefined;
  if (asked !== undefined) {
    ctx.cookies.set(LANGUAGE_COOKIE, asked, { httpOnly: true, sameSite: 'lax', secure: ctx.urls.https, path: '/portal', maxAge: LANGUAGE_COOKIE_MS, overwrite: true });
    return asked;
  }
  const remembered = ctx.cookies.get(LANGUAGE_COOKIE);
  const kept = remembered !== undefined ? languages.choose(remembered) : undefined;
  if (kept !== undefined) return kept;
  // Without an Accept-Language header, acceptsLanguages answers the first offered: the default.
  const accepted = ctx.acceptsLanguages([...languages.offered]);
  return typeof accepted === 'string' ? accepted : languages.defaultLang;
}

/** A link of the language switcher: the language's own name for itself, and this page again in it. */
export interface LanguageLink {
  readonly lang: string;
  readonly name: string;
  readonly url: string;
  readonly current: boolean;
}

/**
 * The switcher's links: this same page (its path and query) with ?lang= set, for a page a
 * GET shows. A page answering a form (POST) has none: it cannot be asked for again by a
 * link; the next page has them. Nor has a page asked for by a path that is not one of ours
 * (`//host/…`, which a 404 answers): its links would point elsewhere.
 */
export function languageLinks(ctx: Context, languages: Languages, current: string): readonly LanguageLink[] {
  if (ctx.method !== 'GET' || languages.offered.length < 2 || !ctx.path.startsWith('/') || ctx.path.startsWith('//')) return [];
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.query)) if (typeof v === 'string') query[k] = v;
  return languages.offered.map((lang) => ({
    lang,
    name: languages.translator(lang).has('language.name') ? languages.translator(lang).text('language.name') : lang,
    url: ctx.urls.to(ctx.path, { ...query, lang }),
    current: lang === current,
  }));
}
