import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Languages, loadLanguages, Translator } from '../../../../src/portal/languages/languages.js';
import { formatHtml, paramsOf, parseCatalog, tokenize, type Message } from '../../../../src/portal/languages/messages.js';
import { LOCALES_DIR } from '../../../../src/wiring.js';

/** Each shipped catalog, parsed as it is. */
const SHIPPED = new Map(
  readdirSync(LOCALES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => {
      const lang = f.replace(/\.yaml$/, '');
      const parsed = parseCatalog(readFileSync(join(LOCALES_DIR, f), 'utf8'), f);
      return [lang, parsed] as const;
    }),
);
const ENGLISH = SHIPPED.get('en')!.messages;

const kind = (m: Message) => ('text' in m ? 'text' : 'plural');

describe('the shipped catalogs', () => {
  it('are English, German, French and Spanish, each parsed without a problem', () => {
    expect([...SHIPPED.keys()].sort()).toEqual(['de', 'en', 'es', 'fr']);
    for (const [lang, { problems }] of SHIPPED) expect(problems, lang).toEqual([]);
  });

  it.each([...SHIPPED.keys()].filter((l) => l !== 'en'))('%s has exactly the keys of en.yaml', (lang) => {
    const keys = [...SHIPPED.get(lang)!.messages.keys()];
    expect(keys.filter((k) => !ENGLISH.has(k)), 'keys English does not have').toEqual([]);
    expect([...ENGLISH.keys()].filter((k) => !keys.includes(k)), 'keys missing').toEqual([]);
  });

  it.each([...SHIPPED.keys()].filter((l) => l !== 'en'))('%s uses exactly the placeholders of en.yaml, and plural forms where English has them', (lang) => {
    for (const [key, message] of SHIPPED.get(lang)!.messages) {
      const english = ENGLISH.get(key)!;
      expect([...paramsOf(message)].sort(), key).toEqual([...paramsOf(english)].sort());
      expect(kind(message), key).toBe(kind(english));
    }
  });

  it.each([...SHIPPED.keys()])('%s has plural forms only of categories its language has, and always other', (lang) => {
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
    for (const [key, message] of SHIPPED.get(lang)!.messages) {
      if (!('plural' in message)) continue;
      for (const category of Object.keys(message.plural)) expect(categories, `${key}.${category}`).toContain(category);
      expect(message.plural.other, key).toBeDefined();
    }
  });

  it('name each language in itself, for the switcher', () => {
    const names = Object.fromEntries([...SHIPPED].map(([lang, { messages }]) => [lang, new Translator(lang, messages).text('language.name')]));
    expect(names).toEqual({ en: 'English', de: 'Deutsch', fr: 'Français', es: 'Español' });
  });
});

describe('a text', () => {
  it.each([
    ['Hello {user', '"{user" is not a placeholder'],
    ['Hello {User}', '"{User}" is not a placeholder'],
    ['Hello }', 'a "}" closes no placeholder'],
    ['<b>bold', 'a <b> is not closed'],
    ['bold</b>', 'a </b> closes no <b>'],
    ['<b><b>x</b></b>', 'a <b> opens inside another'],
    ['<script>alert(1)</script>', '"<script>aler" is markup other than <b>…</b>'],
    ['<a href="x">x</a>', 'is markup other than <b>…</b>'],
  ])('%j is refused: %s', (source, problem) => {
    expect(tokenize(source)).toContain(problem);
  });

  const rules = new Intl.PluralRules('en');
  const html = (source: string, params?: Parameters<typeof formatHtml>[3]) => String(formatHtml({ text: tokenize(source) as never }, rules, 'k', params));

  it('is escaped for HTML, its values too, keeping only the <b> it holds', () => {
    expect(html('Tom & "Jerry" <b>{who}</b>\'s', { who: '<img src=x onerror=alert(1)>' })).toBe('Tom &amp; &quot;Jerry&quot; <b>&lt;img src=x onerror=alert(1)&gt;</b>&#39;s');
    // A value that looks like bold stays text.
    expect(html('{x}', { x: '<b>not bold</b>' })).toBe('&lt;b&gt;not bold&lt;/b&gt;');
  });

  it('shows a time value as <time>, a link value as <a> and a monospace value as <span class="mono">, each escaped', () => {
    expect(html('until {t}.', { t: { text: '04:00 <tomorrow>', datetime: '"2026' } })).toBe('until <time datetime="&quot;2026">04:00 &lt;tomorrow&gt;</time>.');
    expect(html('Read the {terms}.', { terms: { text: 'T&C', href: 'https://x.example/?a=1&b="2"' } })).toBe('Read the <a href="https://x.example/?a=1&amp;b=&quot;2&quot;">T&amp;C</a>.');
    expect(html('Device ({mac}).', { mac: { text: '3e:bb:<i>', mono: true } })).toBe('Device (<span class="mono">3e:bb:&lt;i&gt;</span>).');
  });

  it('without a value for a placeholder fails the page, naming the key', () => {
    expect(() => html('Hello {user}')).toThrow('k: no value for {user}');
  });

  it('with plural forms picks the form for {count} by the language (French: 0 and 1 are singular)', () => {
    const { messages } = parseCatalog('m:\n  one: "{count} minute"\n  other: "{count} minutes"\n', 't.yaml');
    const fr = new Translator('fr', messages);
    const en = new Translator('en', messages);
    expect([0, 1, 2].map((count) => en.text('m', { count }))).toEqual(['0 minutes', '1 minute', '2 minutes']);
    expect([0, 1, 2].map((count) => fr.text('m', { count }))).toEqual(['0 minute', '1 minute', '2 minutes']);
    // Not a number: the other form.
    expect(en.text('m', { count: 'x' })).toBe('x minutes');
  });
});

describe('a catalog file', () => {
  it.each([
    ['a: [1, 2]\n', 'f.yaml: a: must be a text, a group of keys, or plural forms (one:, other: …)'],
    ['a:\n  one: x\n  other: 3\n', 'f.yaml: a.other: a plural form must be a text'],
    ['a: x\na: y\n', 'f.yaml: not valid YAML (Map keys must be unique'],
    ['- x\n', 'f.yaml: must be a mapping of keys to texts'],
    ['a:\n  b: "{x"\n', 'f.yaml: a.b: "{x" is not a placeholder'],
  ])('%j is refused with a message naming the file and the key', (source, problem) => {
    expect(parseCatalog(source, 'f.yaml').problems.join('\n')).toContain(problem);
  });
});

describe('portal.languages', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const folder = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-languages-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };

  it('without settings offers every shipped language, the default first', () => {
    const { languages, problems, warnings } = loadLanguages(LOCALES_DIR, { default: 'de' });
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(languages!.offered).toEqual(['de', 'en', 'es', 'fr']);
    expect(languages!.translator('xx').lang).toBe('de');
  });

  it('offers only the languages listed', () => {
    const { languages } = loadLanguages(LOCALES_DIR, { default: 'en', offered: ['fr', 'en'] });
    expect(languages!.offered).toEqual(['en', 'fr']);
    expect(languages!.offers('de')).toBe(false);
  });

  it("takes an admin's text over the shipped one, key by key", () => {
    const dir = folder({ 'de.yaml': 'layout:\n  staff_wifi: "WLAN für <b>Personal</b>"\n' });
    const { languages, problems } = loadLanguages(LOCALES_DIR, { default: 'en', dir });
    expect(problems).toEqual([]);
    const de = languages!.translator('de');
    expect(String(de.html('layout.staff_wifi'))).toBe('WLAN für <b>Personal</b>');
    expect(de.text('login.title')).toBe('Im WLAN anmelden');
  });

  it('adds a language, in English where it says nothing, and warns of the missing keys', () => {
    const dir = folder({ 'nl.yaml': 'language:\n  name: Nederlands\nlogin:\n  title: Inloggen op de wifi\n' });
    const { languages, problems, warnings } = loadLanguages(LOCALES_DIR, { default: 'en', dir });
    expect(problems).toEqual([]);
    expect(languages!.offered).toContain('nl');
    const nl = languages!.translator('nl');
    expect(nl.text('login.title')).toBe('Inloggen op de wifi');
    expect(nl.text('login.submit')).toBe('Log in');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^portal.languages.dir: ${join(dir, 'nl.yaml')}: ${ENGLISH.size - 2} keys missing, shown in English: language.date_locale, layout.title, `));
    // What names the language is never English: the tag and the language's own dates stand in.
    expect(nl.has('language.date_locale')).toBe(false);
  });

  it('refuses a key no page uses and a placeholder the page does not give, naming the file and the key', () => {
    const dir = folder({ 'de.yaml': 'login:\n  titel: Anmelden\nlayout:\n  help: "Hilfe: {contact} oder {phone}"\n' });
    const { languages, problems } = loadLanguages(LOCALES_DIR, { default: 'en', dir });
    expect(languages).toBeUndefined();
    const file = join(dir, 'de.yaml');
    expect(problems).toEqual([
      `portal.languages.dir: ${file}: login.titel: no page uses this key (the keys are those of the shipped en.yaml)`,
      `portal.languages.dir: ${file}: layout.help: placeholder {phone} is not given here (the page gives {contact})`,
    ]);
  });

  it('refuses markup in an admin text, a file not named for a language, a folder that is not there, and a language without a catalog', () => {
    const dir = folder({ 'de.yaml': 'login:\n  title: "<script>x</script>"\n', 'german.yaml': 'x: y\n', 'notes.txt': 'ignored' });
    const { problems } = loadLanguages(LOCALES_DIR, { default: 'it', offered: ['en', 'it'], dir });
    expect(problems).toEqual([
      'portal.languages.dir: german.yaml: "german" is not a language tag (name a catalog like de.yaml or pt-BR.yaml)',
      `portal.languages.dir: ${join(dir, 'de.yaml')}: login.title: "<script>x</s" is markup other than <b>…</b>, the only markup a text may hold`,
      `portal.languages.offered[1]: no catalog for "it" (shipped: de, en, es, fr; or add it.yaml to ${dir})`,
      'portal.languages.default: no catalog for "it"',
    ]);
    const missing = loadLanguages(LOCALES_DIR, { default: 'en', dir: join(dir, 'nope') }).problems;
    expect(missing).toEqual([`portal.languages.dir: cannot read the folder ${join(dir, 'nope')} (ENOENT)`]);
  });

  it('refuses a default that is not offered', () => {
    expect(loadLanguages(LOCALES_DIR, { default: 'de', offered: ['en'] }).problems).toEqual(['portal.languages.default: "de" is not in portal.languages.offered']);
  });
});

describe('Languages.choose (a visitor’s ?lang= or its cookie)', () => {
  const none = new Map<string, Message>();
  const languages = new Languages('en', ['en', 'de', 'pt-BR'], new Map([['en', none], ['de', none], ['pt-BR', none]]));

  it.each([
    ['de', 'de'],
    ['DE', 'de'],
    ['De', 'de'],
    ['de-DE', 'de'],
    ['DE-at', 'de'],
    ['pt-br', 'pt-BR'],
    ['PT', 'pt-BR'],
  ])('%j is %s, as Accept-Language would pick it (tags are case-insensitive)', (asked, lang) => {
    expect(languages.choose(asked)).toBe(lang);
  });

  // pt-PT is not pt-BR: negotiator (Accept-Language) does not match sibling regions either.
  it.each(['fr', 'fr-DE', 'pt-PT', '', 'de,fr', 'de;q=1', ' de', 'de-', '-de', 'd_e', 'deutsch-de-x-y1234567890', '1de'])('%j names no offered language', (asked) => {
    expect(languages.choose(asked)).toBeUndefined();
  });
});
