import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { parseMac } from '../../mac.js';
import type { UamNasLookup, UamRedirectOf } from './redirect-types.js';
import { destinationToPassOn, redirectParam, type RedirectQuery } from './redirect-query.js';

/**
 * A MikroTik hotspot with an external login page, the portal's half. Pure.
 *
 * The hotspot's login.html hands the browser over with `mac`, `ip`, `link-login-only`
 * (e.g. http://10.5.50.1/login), `link-orig` and, with HTTP-CHAP, `chap-id` and
 * `chap-challenge`: octal-escaped strings such as "\371" and
 * "\357\015\330…" (16 octets), meant to be pasted into a JavaScript string literal.
 * RouterOS manual (v2.9, "HotSpot: Customizing HTTP Servlet Pages"): with HTTP-CHAP the
 * password sent to the router is MD5(chap-id ‖ password ‖ chap-challenge), which its md5.js
 * computes as hexMD5('$(chap-id)' + password + '$(chap-challenge)'). The router then asks
 * RADIUS with CHAP-Password = chap-id ‖ that MD5 and CHAP-Challenge = chap-challenge, which
 * the token login (radius/uam-login.ts) verifies as any CHAP answer.
 */

/** What the portal keeps of a MikroTik hotspot redirect in its flow. */
export interface MikrotikLogin {
  readonly kind: 'mikrotik';
  /** The router's name (its NAS entry). */
  readonly nas: string;
  /** link-login-only as checked: `http(s)://<the router's hotspot address>/login`. */
  readonly loginUrl: string;
  /** The CHAP ident, 1 octet, hex. */
  readonly chapId: string;
  /** The CHAP challenge, 16 octets, hex. */
  readonly chapChallenge: string;
  /** link-orig: where the person wanted to go; handed back to the router as dst. */
  readonly dst?: string;
}

const MAX_LINK_ORIG = 2048;

/** Reads MikroTik's octal escapes ("\123\045…", three digits each) as octets; undefined when malformed. */
export function parseOctalEscaped(value: string): Buffer | undefined {
  if (!/^(\\[0-3][0-7]{2})+$/.test(value)) return undefined;
  return Buffer.from(value.split('\\').slice(1).map((o) => parseInt(o, 8)));
}

/** What MikroTik's md5.js sends as the password with HTTP-CHAP: hex MD5(chap-id ‖ password ‖ chap-challenge). */
export function mikrotikChapPassword(chapIdHex: string, password: string, chapChallengeHex: string): string {
  return createHash('md5').update(Buffer.from(chapIdHex, 'hex')).update(password, 'utf8').update(Buffer.from(chapChallengeHex, 'hex')).digest('hex');
}

/** Whether a URL is `http(s)://<IPv4>/login` with nothing else: MikroTik's link-login-only. */
export function isMikrotikLoginUrl(url: URL): boolean {
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    url.username === '' &&
    url.password === '' &&
    url.port === '' &&
    url.hash === '' &&
    url.pathname === '/login' &&
    isIP(url.hostname) === 4
  );
}

/**
 * Reads a MikroTik hotspot's parameters. Untrusted input: each is checked for form, and
 * link-login-only must be the login URL of a configured MikroTik router (the portal sends
 * browsers and one-time logins only there). Anything wrong: the parameters are ignored.
 */
export function readMikrotikRedirect(query: RedirectQuery, lookup: UamNasLookup): UamRedirectOf<MikrotikLogin> {
  const linkLogin = redirectParam(query, 'link-login-only');
  const chapId = redirectParam(query, 'chap-id');
  const chapChallenge = redirectParam(query, 'chap-challenge');
  const mac = parseMac(redirectParam(query, 'mac'));
  const linkOrig = query['link-orig'] === undefined ? undefined : redirectParam(query, 'link-orig');
  let url: URL | undefined;
  try {
    url = linkLogin === undefined ? undefined : new URL(linkLogin);
  } catch {
    url = undefined;
  }
  if (!url || url.search !== '' || !isMikrotikLoginUrl(url)) return { kind: 'ignored', problem: 'link-login-only is not http(s)://<IPv4 address>/login' };
  const id = chapId === undefined ? undefined : parseOctalEscaped(chapId);
  if (!id || id.length !== 1) return { kind: 'ignored', problem: 'chap-id is not one octal-escaped octet (is HTTP-CHAP on?)' };
  const challenge = chapChallenge === undefined ? undefined : parseOctalEscaped(chapChallenge);
  if (!challenge || challenge.length !== 16) return { kind: 'ignored', problem: 'chap-challenge is not 16 octal-escaped octets' };
  if (!mac) return { kind: 'ignored', problem: 'mac is not a device MAC address' };
  if (query['link-orig'] !== undefined && (linkOrig === undefined || linkOrig.length > MAX_LINK_ORIG)) return { kind: 'ignored', problem: 'link-orig is repeated or too long' };
  const nas = lookup(url.hostname);
  if (nas?.uam?.kind !== 'mikrotik') return { kind: 'ignored', problem: 'link-login-only is not the hotspot address of a configured MikroTik router' };
  return {
    kind: 'uam',
    mac,
    uam: {
      kind: 'mikrotik',
      nas: nas.name,
      loginUrl: `${url.protocol}//${url.hostname}/login`,
      chapId: id.toString('hex'),
      chapChallenge: challenge.toString('hex'),
      ...(linkOrig ? { dst: linkOrig } : {}),
    },
  };
}

/**
 * The router's login URL for a one-time login: link-login-only with username, the CHAP
 * password md5.js would compute, and dst (link-orig when it is an absolute http(s) URL, else
 * `fallback`, the portal's success page). A GET, because a cross-origin POST needs a page
 * with a self-submitting form (JavaScript) while a 303 to a GET needs nothing.
 */
export function mikrotikLoginUrl(login: MikrotikLogin, username: string, password: string, fallback: string): string {
  const url = new URL(login.loginUrl);
  url.searchParams.set('username', username);
  url.searchParams.set('password', mikrotikChapPassword(login.chapId, password, login.chapChallenge));
  url.searchParams.set('dst', destinationToPassOn(login.dst) ?? fallback);
  return url.toString();
}
