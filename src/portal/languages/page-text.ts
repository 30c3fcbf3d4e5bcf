import type { GatewayError } from '../../errors.js';
import { DeviceLimitReachedError, DirectoryUnavailableError, TooManyAttemptsError } from '../../errors.js';
import type { Translator } from './languages.js';
import type { Param } from './messages.js';

/**
 * Words built in code for a page, in the page's language: a refusal's message, and dates.
 * English stays the errors' own messages (src/errors.ts), which the log and the APIs keep.
 */

type ErrorWords = (err: GatewayError) => readonly [key: string, params?: Readonly<Record<string, Param>>];

/** The refusals a page shows whose words the catalogs have (errors.* in views/locales), with the numbers they carry. */
const ERROR_WORDS: Readonly<Record<string, ErrorWords>> = {
  EG_INVALID_CREDENTIALS: () => ['errors.invalid_credentials'],
  EG_NOT_ALLOWED: () => ['errors.not_allowed'],
  EG_FLOW_EXPIRED: () => ['errors.flow_expired'],
  EG_NOT_ENROLLED: () => ['errors.not_enrolled'],
  EG_DEVICE_OWNED_BY_OTHER: () => ['errors.device_owned_by_other'],
  EG_DEVICE_BLOCKED: () => ['errors.device_blocked'],
  EG_LINK_EXPIRED: () => ['errors.link_expired'],
  EG_DEVICE_LIMIT: (err) => ['errors.device_limit', { count: (err as DeviceLimitReachedError).limit }],
  EG_DIRECTORY_UNAVAILABLE: (err) => {
    const seconds = (err as DirectoryUnavailableError).retryAfter();
    return seconds < 60 ? ['errors.directory_unavailable_seconds', { count: seconds }] : ['errors.directory_unavailable'];
  },
  EG_TOO_MANY_ATTEMPTS: (err) => {
    const seconds = (err as TooManyAttemptsError).retryAfterSeconds;
    return seconds < 60 ? ['errors.too_many_attempts_seconds', { count: seconds }] : ['errors.too_many_attempts_minutes', { count: Math.ceil(seconds / 60) }];
  },
};

/**
 * What a page says for a refusal: the catalog's words where it has them for the error's code,
 * else the error's publicMessage (English). Only for errors whose message may be shown
 * (`expose`); the caller decides that.
 */
export function refusalText(words: Translator, err: GatewayError): string {
  const known = ERROR_WORDS[err.code];
  if (!known) return err.publicMessage;
  const [key, params] = known(err);
  return words.text(key, params);
}

/** The locale dates are written in: the catalog's language.date_locale (en-GB for English), else the language itself. */
function dateLocale(words: Translator): string {
  const wanted = words.has('language.date_locale') ? words.text('language.date_locale') : words.lang;
  return Intl.DateTimeFormat.supportedLocalesOf([wanted]).length > 0 ? wanted : words.lang;
}

/** A moment as a page shows it in a list: weekday, date, year and time, "Mon, 23 Nov 2026, 09:12". */
export function dateTimeText(words: Translator, at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat(dateLocale(words), { timeZone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
}

/** When a session ends: "04:00 tomorrow (Tue 24 Nov, Europe/Berlin)", today, tomorrow or the weekday, in `timeZone`. */
export function endsAtText(words: Translator, end: Date, now: Date, timeZone: string): string {
  const locale = dateLocale(words);
  const dayOf = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const days = Math.round((Date.parse(dayOf(end)) - Date.parse(dayOf(now))) / 86_400_000);
  const params = {
    time: new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(end),
    date: new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short', day: 'numeric', month: 'short' }).format(end),
    weekday: new Intl.DateTimeFormat(locale, { timeZone, weekday: 'long' }).format(end),
    zone: timeZone,
  };
  return words.text(days === 0 ? 'dates.ends_today' : days === 1 ? 'dates.ends_tomorrow' : 'dates.ends_on', params);
}
