import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHtml, formatText, paramsOf, parseCatalog, type Message, type Param } from './messages.js';

/**
 * The languages of the employee pages: the catalogs shipped in views/locales (English the
 * reference, German, French, Spanish), with an admin's files from portal.languages.dir over
 * them, key by key. A language only the admin's folder has is English where it says nothing.
 */

/** The language every other falls back to, and whose keys are the only keys. */
export const REFERENCE_LANGUAGE = 'en';

/** Language tags a catalog file may be named for: `de`, `pt-BR`, `zh-Hant`. */
const LANGUAGE_TAG = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/;

/** One language's words, as a page uses them. */
export class Translator {
  private readonly rules: Intl.PluralRules;

  constructor(
    readonly lang: string,
    private readonly messages: ReadonlyMap<string, Message>,
  ) {
    this.rules = new Intl.PluralRules(lang);
  }

  private message(key: string): Message {
    const message = this.messages.get(key);
    if (message === undefined) throw new Error(`no text for "${key}" in ${this.lang}`);
    return message;
  }

  /** The text of `key`, as HTML for a template (`t` there): everything escaped, only the catalog's <b> kept. */
  html(key: string, params?: Readonly<Record<string, Param>>) {
    return formatHtml(this.message(key), this.rules, key, params);
  }

  /** The text of `key` as plain text, for words built in code that a page shows. */
  text(key: string, params?: Readonly<Record<string, Param>>): string {
    return formatText(this.message(key), this.rules, key, params);
  }

  /** Whether the catalog has `key`. */
  has(key: string): boolean {
    return this.messages.has(key);
  }
}

/** RFC 5646 §2.1's shape of any language tag a visitor may name, in any case (subtags of 1 to 8 letters or digits, the first letters only). */
const ASKED_TAG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;

/** The configured languages: which are offered, the default, and each one's words. */
export class Languages {
  private readonly translators: ReadonlyMap<string, Translator>;

  constructor(
    /** The language for a visitor whose browser asks for none offered. */
    readonly defaultLang: string,
    /** The offered languages, the default first. */
    readonly offered: readonly string[],
    catalogs: ReadonlyMap<string, ReadonlyMap<string, Message>>,
  ) {
    this.translators = new Map(offered.map((lang) => [lang, new Translator(lang, catalogs.get(lang)!)]));
  }

  /** The words of an offered language; the default's for any other. */
  translator(lang: string): Translator {
    return this.translators.get(lang) ?? this.translators.get(this.defaultLang)!;
  }

  /** Whether `lang` is offered (exactly as listed). */
  offers(lang: string): boolean {
    return this.translators.has(lang);
  }

  /**
   * The offered language a visitor's tag (?lang=, its cookie) names, as Accept-Language would
   * pick it: case-insensitively (RFC 5646 §2.1.1: tags are case-insensitive), the tag itself,
   * else its primary subtag (de-DE → de), else, for a bare primary subtag, an offered
   * language with it (pt → pt-BR; pt-PT does not pick pt-BR, as in Accept-Language, where
   * the negotiator does not either). Undefined for anything else, a list or a malformed tag included.
   */
  choose(tag: string): string | undefined {
    if (!ASKED_TAG.test(tag)) return undefined;
    const asked = tag.toLowerCase();
    const primary = asked.split('-')[0]!;
    return (
      this.offered.find((lang) => lang.toLowerCase() === asked) ??
      this.offered.find((lang) => lang.toLowerCase() === primary) ??
      this.offered.find((lang) => lang.toLowerCase().split('-')[0] === asked)
    );
  }
}

/** What the languages need from the config (portal.languages). */
export interface LanguageSettings {
  readonly default: string;
  readonly offered?: readonly string[] | undefined;
  readonly dir?: string | undefined;
}

/** Loaded languages, or what stops them; and what an admin may want to know (missing keys). */
export interface LoadedLanguages {
  readonly languages?: Languages;
  readonly problems: string[];
  readonly warnings: string[];
}

/** The catalog files of a folder, by language. */
function catalogFiles(dir: string, key: string, problems: string[]): Map<string, string> {
  const files = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    problems.push(`${key}: cannot read the folder ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return files;
  }
  for (const name of names.sort()) {
    const m = /^(.+)\.ya?ml$/.exec(name);
    if (!m) continue;
    if (!LANGUAGE_TAG.test(m[1]!) || !isLanguageTag(m[1]!)) {
      problems.push(`${key}: ${name}: "${m[1]}" is not a language tag (name a catalog like de.yaml or pt-BR.yaml)`);
      continue;
    }
    files.set(m[1]!, join(dir, name));
  }
  return files;
}

function isLanguageTag(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

function readCatalog(path: string, label: string, problems: string[]): Map<string, Message> | undefined {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${label}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
  const parsed = parseCatalog(source, label);
  problems.push(...parsed.problems);
  return parsed.messages;
}

/** A key an admin's file may set: one English has, with no placeholder the page does not give. */
function overrideProblems(label: string, messages: ReadonlyMap<string, Message>, reference: ReadonlyMap<string, Message>): string[] {
  const problems: string[] = [];
  for (const [key, message] of messages) {
    const english = reference.get(key);
    if (english === undefined) {
      problems.push(`${label}: ${key}: no page uses this key (the keys are those of the shipped en.yaml)`);
      continue;
    }
    const given = paramsOf(english);
    const unknown = [...paramsOf(message)].filter((p) => !given.has(p));
    if (unknown.length > 0) {
      const offered = given.size > 0 ? `the page gives ${[...given].map((p) => `{${p}}`).join(', ')}` : 'the page gives none';
      problems.push(`${label}: ${key}: placeholder ${unknown.map((p) => `{${p}}`).join(', ')} is not given here (${offered})`);
    }
  }
  return problems;
}

/**
 * The shipped catalogs (`shippedDir`, views/locales) with the admin's (settings.dir) over
 * them. Problems (a file that cannot be read or parsed, a key no page uses, a placeholder the
 * page does not give, an offered language without a catalog) stop the gateway; a language
 * the admin added that lacks keys is a warning: those are shown in English.
 */
export function loadLanguages(shippedDir: string, settings: LanguageSettings): LoadedLanguages {
  const problems: string[] = [];
  const warnings: string[] = [];
  const catalogs = new Map<string, Map<string, Message>>();
  for (const [lang, path] of catalogFiles(shippedDir, 'views/locales', problems)) {
    const messages = readCatalog(path, `${lang}.yaml (shipped)`, problems);
    if (messages) catalogs.set(lang, messages);
  }
  const reference = catalogs.get(REFERENCE_LANGUAGE);
  if (reference === undefined) return { problems: [...problems, `views/locales: no ${REFERENCE_LANGUAGE}.yaml, the reference catalog`], warnings };
  if (settings.dir !== undefined) {
    for (const [lang, path] of catalogFiles(settings.dir, 'portal.languages.dir', problems)) {
      const label = `portal.languages.dir: ${path}`;
      const messages = readCatalog(path, label, problems);
      if (messages === undefined) continue;
      problems.push(...overrideProblems(label, messages, reference));
      const shipped = catalogs.get(lang);
      if (shipped === undefined) {
        const missing = [...reference.keys()].filter((k) => !messages.has(k));
        if (missing.length > 0) {
          warnings.push(`portal.languages.dir: ${path}: ${missing.length} key${missing.length === 1 ? '' : 's'} missing, shown in English: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}`);
        }
      }
      catalogs.set(lang, new Map([...(shipped ?? []), ...messages]));
    }
  }
  // A key a catalog lacks is English on the page, never a failed page; but for what names the
  // language itself (language.*), where English would be wrong: the tag stands in.
  const fallback = [...reference].filter(([key]) => !key.startsWith('language.'));
  for (const [lang, messages] of catalogs) if (lang !== REFERENCE_LANGUAGE) catalogs.set(lang, new Map([...fallback, ...messages]));
  const offered = settings.offered ?? [...catalogs.keys()];
  for (const [i, lang] of offered.entries()) {
    if (!catalogs.has(lang)) problems.push(`portal.languages.offered[${i}]: no catalog for "${lang}" (shipped: ${shippedList(shippedDir)}${settings.dir ? `; or add ${lang}.yaml to ${settings.dir}` : '; or add one with portal.languages.dir'})`);
  }
  if (!catalogs.has(settings.default)) problems.push(`portal.languages.default: no catalog for "${settings.default}"`);
  else if (!offered.includes(settings.default)) problems.push(`portal.languages.default: "${settings.default}" is not in portal.languages.offered`);
  if (problems.length > 0) return { problems, warnings };
  const ordered = [settings.default, ...offered.filter((l) => l !== settings.default)];
  return { languages: new Languages(settings.default, ordered, catalogs), problems, warnings };
}

function shippedList(dir: string): string {
  return [...catalogFiles(dir, '', []).keys()].join(', ');
}
