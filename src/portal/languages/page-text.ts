import type { GatewayError } from '../../errors.js';
import { DeviceLimitReachedError, DirectoryUnavailableError, OsTooOldError, PlatformNotAllowedError, RandomisedMacError, TooManyAttemptsError } from '../../errors.js';
import type { Translator } from './languages.js';

/**
 * Words built in code for a page, in the page's language: a refusal's message, and dates.
 * English stays the errors' own messages (src/errors.ts), which the log and the APIs keep.
 */

type ErrorWords = (err: GatewayError, words: Translator) => string | undefined;

/** The refusals a page shows whose words the catalogs have (errors.* in views/locales), with the numbers they carry. */
const ERROR_WORDS: Readonly<Record<string, ErrorWords>> = {
  EG_INVALID_CREDENTIALS: (_, words) => words.text('errors.invalid_credentials'),
  EG_NOT_ALLOWED: (_, words) => words.text('errors.not_allowed'),
  EG_FLOW_EXPIRED: (_, words) => words.text('errors.flow_expired'),
  EG_NOT_ENROLLED: (_, words) => words.text('errors.not_enrolled'),
  EG_DEVICE_OWNED_BY_OTHER: (_, words) => words.text('errors.device_owned_by_other'),
  EG_DEVICE_BLOCKED: (_, words) => words.text('errors.device_blocked'),
  EG_LINK_EXPIRED: (_, words) => words.text('errors.link_expired'),
  EG_BODY_TOO_LARGE: (_, words) => words.text('errors.form_too_large'),
  EG_DEVICE_LIMIT: (err, words) => words.text('errors.device_limit', { count: (err as DeviceLimitReachedError).limit }),
  EG_DIRECTORY_UNAVAILABLE: (err, words) => {
    const seconds = (err as DirectoryUnavailableError).retryAfter();
    return seconds < 60 ? words.text('errors.directory_unavailable_seconds', { count: seconds }) : words.text('errors.directory_unavailable');
  },
  EG_TOO_MANY_ATTEMPTS: (err, words) => {
    const seconds = (err as TooManyAttemptsError).retryAfterSeconds;
    return seconds < 60 ? words.text('errors.too_many_attempts_seconds', { count: seconds }) : words.text('errors.too_many_attempts_minutes', { count: Math.ceil(seconds / 60) });
  },
  // The device policy's refusals (devices/policy.ts), from the facts the error carries; its English without them.
  EG_OS_TOO_OLD: (err, words) => {
    const { needed, facts } = err as OsTooOldError;
    if (!facts) return undefined;
    return facts.found === undefined ? words.text(`errors.os_unknown.${facts.platform}`, { needed }) : words.text(`errors.os_too_old.${facts.platform}`, { needed, found: facts.found });
  },
  EG_PLATFORM_NOT_ALLOWED: (err, words) => {
    const { platform, allowed } = err as PlatformNotAllowedError;
    const refused = words.text(`errors.platform_not_allowed.${platform}`);
    if (allowed.length === 0) return refused;
    return `${refused} ${words.text('errors.open_to', { list: allowed.map((p) => words.text(`errors.platforms.${p}`)).join(', ') })}`;
  },
  EG_RANDOMISED_MAC: (err, words) => {
    const { platform } = err as RandomisedMacError;
    return platform === undefined ? undefined : `${words.text('errors.randomised_mac.refused')} ${words.text(`errors.randomised_mac.${platform}`)}`;
  },
};

/**
 * What a page says for a refusal: the catalog's words where it has them for the error's code,
 * else the error's publicMessage (English). Only for errors whose message may be shown
 * (`expose`); the caller decides that.
 */
export function refusalText(words: Translator, err: GatewayError): string {
  return ERROR_WORDS[err.code]?.(err, words) ?? err.publicMessage;
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
