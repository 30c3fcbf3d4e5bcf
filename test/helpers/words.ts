import { loadLanguages, type Translator } from '../../src/portal/languages/languages.js';
import { LOCALES_DIR } from '../../src/wiring.js';

/** The shipped catalogs, as a gateway without portal.languages settings loads them. */
const SHIPPED = loadLanguages(LOCALES_DIR, { default: 'en' }).languages!;

/** A shipped language's words, for unit tests of text built in code (English by default). */
export function wordsIn(lang = 'en'): Translator {
  if (!SHIPPED.offers(lang)) throw new Error(`no shipped catalog for ${lang}`);
  return SHIPPED.translator(lang);
}
