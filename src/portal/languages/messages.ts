import nunjucks from 'nunjucks';
import { parse as parseYaml } from 'yaml';

/**
 * One language's catalog: the words of the employee pages, by key. A catalog file is YAML,
 * keys nested or dotted (`online.title` either way). A value is one of:
 * - a text: `"Log in to the Wi-Fi"`, with named placeholders (`{user}`) and, for emphasis in
 *   the middle of a sentence, `<b>…</b>` (the only markup a text may hold);
 * - plural forms where a number is shown: a mapping of CLDR plural categories (`one`,
 *   `other`, and `zero`, `two`, `few`, `many` where the language has them) to texts, picked
 *   by the `count` parameter with Intl.PluralRules; `other` is required.
 */

/** A text split into what is written, what is filled in, and where bold starts and ends. */
export type Token = { readonly text: string } | { readonly param: string } | { readonly bold: boolean };

/** A message: one text, or plural forms by category. */
export type Message = { readonly text: readonly Token[] } | { readonly plural: Readonly<Partial<Record<Intl.LDMLPluralRule, readonly Token[]>>> };

export const PLURAL_CATEGORIES: readonly Intl.LDMLPluralRule[] = ['zero', 'one', 'two', 'few', 'many', 'other'];

/** Placeholder names: lower case, digits and underscores. */
const PARAM = /^[a-z][a-z0-9_]*$/;

/**
 * Splits a text into tokens, or says what is wrong with it: a `{` that opens no placeholder,
 * markup other than `<b>` and `</b>`, bold that does not close or closes what is not open.
 */
export function tokenize(source: string): Token[] | string {
  const tokens: Token[] = [];
  let bold = false;
  let text = '';
  const flush = () => {
    if (text) tokens.push({ text });
    text = '';
  };
  for (let i = 0; i < source.length; ) {
    const ch = source[i]!;
    if (ch === '{') {
      const end = source.indexOf('}', i);
      const name = end < 0 ? '' : source.slice(i + 1, end);
      if (!PARAM.test(name)) return `"${source.slice(i, end < 0 ? i + 12 : end + 1)}" is not a placeholder: write {name}, with a-z, 0-9 and _`;
      flush();
      tokens.push({ param: name });
      i = end + 1;
    } else if (ch === '}') {
      return 'a "}" closes no placeholder';
    } else if (ch === '<') {
      const tag = /^<(\/?)b>/.exec(source.slice(i));
      if (!tag) return `"${source.slice(i, i + 12)}" is markup other than <b>…</b>, the only markup a text may hold`;
      const closing = tag[1] === '/';
      if (closing !== bold) return closing ? 'a </b> closes no <b>' : 'a <b> opens inside another';
      flush();
      bold = !closing;
      tokens.push({ bold });
      i += tag[0].length;
    } else {
      text += ch;
      i++;
    }
  }
  if (bold) return 'a <b> is not closed';
  flush();
  return tokens;
}

/** The placeholders a message uses, all forms together. */
export function paramsOf(message: Message): Set<string> {
  const forms = 'text' in message ? [message.text] : Object.values(message.plural);
  return new Set(forms.flatMap((tokens) => tokens.flatMap((t) => ('param' in t ? [t.param] : []))));
}

function isPluralMapping(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return keys.includes('other') && keys.every((k) => (PLURAL_CATEGORIES as readonly string[]).includes(k));
}

/**
 * A catalog file's messages by dotted key, or its problems, each naming the file and the key
 * (`de.yaml: online.title: …`).
 */
export function parseCatalog(source: string, file: string): { messages: Map<string, Message>; problems: string[] } {
  const messages = new Map<string, Message>();
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parseYaml(source, { uniqueKeys: true });
  } catch (err) {
    return { messages, problems: [`${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`] };
  }
  if (doc === null || doc === undefined) return { messages, problems };
  if (typeof doc !== 'object' || Array.isArray(doc)) return { messages, problems: [`${file}: must be a mapping of keys to texts`] };
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix + name;
      if (typeof value === 'string') {
        const tokens = tokenize(value);
        if (typeof tokens === 'string') problems.push(`${file}: ${key}: ${tokens}`);
        else messages.set(key, { text: tokens });
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value) && isPluralMapping(value as Record<string, unknown>)) {
        const plural: Partial<Record<Intl.LDMLPluralRule, readonly Token[]>> = {};
        for (const [category, form] of Object.entries(value as Record<string, unknown>)) {
          const tokens = typeof form === 'string' ? tokenize(form) : 'a plural form must be a text';
          if (typeof tokens === 'string') problems.push(`${file}: ${key}.${category}: ${tokens}`);
          else plural[category as Intl.LDMLPluralRule] = tokens;
        }
        messages.set(key, { plural });
      } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        walk(value as Record<string, unknown>, `${key}.`);
      } else {
        problems.push(`${file}: ${key}: must be a text, a group of keys, or plural forms (one:, other: …)`);
      }
    }
  };
  walk(doc as Record<string, unknown>, '');
  return { messages, problems };
}

/**
 * A value a page fills into a placeholder: text, a number, a time shown as text with its
 * machine-readable form (<time datetime>), a link (<a href>), for a link in the middle of
 * a sentence, or text in the monospace font (`mono`: a MAC address, read character by
 * character). The template, not the catalog, says where a link points and what is monospace.
 */
export type Param =
  | string
  | number
  | { readonly text: string; readonly datetime: string }
  | { readonly text: string; readonly href: string }
  | { readonly text: string; readonly mono: true };

/** The tokens of a message for these parameters: the plural form for `count`, else `other`. */
function formOf(message: Message, rules: Intl.PluralRules, params: Readonly<Record<string, Param>>): readonly Token[] {
  if ('text' in message) return message.text;
  const count = params.count;
  const category = typeof count === 'number' ? rules.select(count) : 'other';
  return message.plural[category] ?? message.plural.other ?? [];
}

function paramText(value: Param | undefined, name: string, key: string): string {
  if (value === undefined) throw new Error(`${key}: no value for {${name}}`);
  return typeof value === 'object' ? value.text : String(value);
}

/** A message as plain text (bold dropped), for words built outside a template. */
export function formatText(message: Message, rules: Intl.PluralRules, key: string, params: Readonly<Record<string, Param>> = {}): string {
  return formOf(message, rules, params)
    .map((t) => ('text' in t ? t.text : 'param' in t ? paramText(params[t.param], t.param, key) : ''))
    .join('');
}

const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text for HTML, as nunjucks' autoescape writes it (also safe inside a quoted attribute). */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

/**
 * A message as HTML for a page: every text and every value escaped, the only markup the
 * `<b>` the catalog placed and the `<time>` of a time value. Marked safe for the template
 * because everything in it was escaped here, including what an admin's catalog says.
 */
export function formatHtml(message: Message, rules: Intl.PluralRules, key: string, params: Readonly<Record<string, Param>> = {}): nunjucks.runtime.SafeString {
  const html = formOf(message, rules, params)
    .map((t) => {
      if ('text' in t) return esc(t.text);
      if ('bold' in t) return t.bold ? '<b>' : '</b>';
      const value = params[t.param];
      if (value !== undefined && typeof value === 'object') {
        if ('href' in value) return `<a href="${esc(value.href)}">${esc(value.text)}</a>`;
        if ('mono' in value) return `<span class="mono">${esc(value.text)}</span>`;
        return `<time datetime="${esc(value.datetime)}">${esc(value.text)}</time>`;
      }
      return esc(paramText(value, t.param, key));
    })
    .join('');
  return new nunjucks.runtime.SafeString(html);
}
