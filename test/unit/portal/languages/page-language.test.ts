import type { Context } from 'koa';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../../src/portal/languages/messages.js';
import { Languages } from '../../../../src/portal/languages/languages.js';
import { pageLanguage } from '../../../../src/portal/languages/page-language.js';

/**
 * pageLanguage works the language out once per request: a page asks for it several times
 * (its words, a refusal's words, render), and each answer must be the same. A stand-in
 * context counts what it is asked.
 */
const none = new Map<string, Message>();
const LANGUAGES = new Languages('en', ['en', 'de', 'fr'], new Map([['en', none], ['de', none], ['fr', none]]));

function fakeContext(o: { query?: Record<string, string>; acceptLanguage?: string }) {
  const counts = { accepts: 0, cookieSets: 0 };
  const ctx = {
    query: o.query ?? {},
    state: {},
    urls: { https: false },
    cookies: {
      get: () => undefined,
      set: () => {
        counts.cookieSets++;
      },
    },
    acceptsLanguages: (offered: string[]) => {
      counts.accepts++;
      return o.acceptLanguage && offered.includes(o.acceptLanguage) ? o.acceptLanguage : false;
    },
  };
  return { ctx: ctx as unknown as Context, counts };
}

describe('pageLanguage', () => {
  it('reads Accept-Language once however often a request asks, with the same answer each time', () => {
    const { ctx, counts } = fakeContext({ acceptLanguage: 'fr' });
    const answers = [1, 2, 3, 4].map(() => pageLanguage(ctx, LANGUAGES));
    expect(answers).toEqual(['fr', 'fr', 'fr', 'fr']);
    expect(counts.accepts).toBe(1);
  });

  it('sets the choice cookie of a ?lang= once', () => {
    const { ctx, counts } = fakeContext({ query: { lang: 'DE' } });
    expect([pageLanguage(ctx, LANGUAGES), pageLanguage(ctx, LANGUAGES)]).toEqual(['de', 'de']);
    expect(counts.cookieSets).toBe(1);
  });

  it('works it out again for other languages (a reload that brought others)', () => {
    const { ctx, counts } = fakeContext({ acceptLanguage: 'de' });
    expect(pageLanguage(ctx, LANGUAGES)).toBe('de');
    expect(pageLanguage(ctx, new Languages('en', ['en'], new Map([['en', none]])))).toBe('en');
    expect(counts.accepts).toBe(2);
  });
});
