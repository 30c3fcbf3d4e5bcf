import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { parseMac } from '../../mac.js';
import type { UamNasLookup, UamRedirectOf } from './redirect-types.js';
import { destinationToPassOn, redirectParam, type RedirectQuery } from './redirect-query.js';

/**
 * CoovaChilli's UAM ("universal access method") handshake, the portal's half. Pure.
 *
 * Chilli redirects a browser to `<uamserver>?res=notyet&uamip=…&uamport=…&challenge=<hex>
 * &mac=…&ip=…&nasid=…&userurl=…&md=<hex>`, where (redir.c, redir_buildurl) md is the
 * upper-case hex MD5 of the URL it built, up to but excluding "&md=", followed by the
 * uamsecret. After the login the portal sends the browser to
 * `http://<uamip>:<uamport>/logon?username=…&password=<hex>` (PAP) or `&response=<hex>`
 * (CHAP); Chilli (redir.c, redir_radius) then computes newchal = MD5(challenge ‖ uamsecret)
 * and sends User-Password = password XOR newchal (one 16-octet block), or
 * CHAP-Challenge = newchal with CHAP-Password = ident ‖ response, ident 0 by default.
 */

/** What the portal keeps of a Chilli redirect in its flow. */
export interface ChilliLogin {
  readonly kind: 'coovachilli';
  /** The router's name (its NAS entry). */
  readonly nas: string;
  readonly uamip: string;
  readonly uamport: number;
  /** 16 octets, hex (32 characters), as Chilli sent it. */
  readonly challenge: string;
  /** Where the person wanted to go; handed back to Chilli, never a redirect of ours. */
  readonly userurl?: string;
}

const MAX_USERURL = 2048;

/** Upper-case hex MD5 of the redirect URL (up to "&md=") followed by the UAM secret. */
export function chilliMd(urlBeforeMd: string, uamSecret: string): string {
  return createHash('md5').update(urlBeforeMd, 'utf8').update(uamSecret, 'utf8').digest('hex').toUpperCase();
}

/**
 * Reads Chilli's parameters from a portal request. Everything in them is untrusted
 * input: each is checked for form, the router must be a configured UAM router, and
 * the md signature must verify with its UAM secret (against the portal URL as Chilli
 * knows it: one of `portalUrls`). Anything wrong: the parameters are ignored.
 */
export function readChilliRedirect(query: RedirectQuery, rawQuery: string, portalUrls: readonly string[], lookup: UamNasLookup): UamRedirectOf<ChilliLogin> {
  if (query.uamip === undefined && query.challenge === undefined) return { kind: 'none' };
  const uamip = redirectParam(query, 'uamip');
  const uamport = redirectParam(query, 'uamport');
  const challenge = redirectParam(query, 'challenge');
  const mac = parseMac(redirectParam(query, 'mac'));
  const nasid = redirectParam(query, 'nasid');
  const userurl = query.userurl === undefined ? undefined : redirectParam(query, 'userurl');
  const md = redirectParam(query, 'md');
  if (uamip === undefined || isIP(uamip) !== 4) return { kind: 'ignored', problem: 'uamip is not an IPv4 address' };
  if (uamport === undefined || !/^\d{1,5}$/.test(uamport) || Number(uamport) < 1 || Number(uamport) > 65535) {
    return { kind: 'ignored', problem: 'uamport is not a port number' };
  }
  if (challenge === undefined || !/^[0-9a-fA-F]{32}$/.test(challenge)) return { kind: 'ignored', problem: 'challenge is not 32 hex digits' };
  if (!mac) return { kind: 'ignored', problem: 'mac is not a device MAC address' };
  if (query.userurl !== undefined && (userurl === undefined || userurl.length > MAX_USERURL)) return { kind: 'ignored', problem: 'userurl is repeated or too long' };
  const nas = lookup(uamip, nasid);
  const uamSecret = nas?.uam?.kind === 'coovachilli' ? nas.uam.secret : undefined;
  if (!nas || uamSecret === undefined) return { kind: 'ignored', problem: 'uamip is not the UAM address of a configured UAM router' };
  // Chilli appends md last; what it signed is everything before it.
  const at = rawQuery.lastIndexOf('&md=');
  if (md === undefined || at < 0 || !/^[0-9a-fA-F]{32}$/.test(rawQuery.slice(at + 4))) return { kind: 'ignored', problem: 'md is missing or malformed' };
  const signed = rawQuery.slice(0, at);
  const got = Buffer.from(rawQuery.slice(at + 4).toUpperCase());
  const verified = portalUrls.some((url) => timingSafeEqual(Buffer.from(chilliMd(`${url}?${signed}`, uamSecret)), got));
  if (!verified) return { kind: 'ignored', problem: 'md does not match (wrong UAM secret, or the parameters were changed)' };
  return {
    kind: 'uam',
    mac,
    uam: { kind: 'coovachilli', nas: nas.name, uamip, uamport: Number(uamport), challenge: challenge.toLowerCase(), ...(userurl ? { userurl } : {}) },
  };
}

/** Chilli's newchal: MD5(challenge ‖ uamsecret), the key of the PAP hiding and the CHAP challenge. */
export function uamChallenge(challengeHex: string, uamSecret: string): Buffer {
  return createHash('md5').update(Buffer.from(challengeHex, 'hex')).update(uamSecret, 'utf8').digest();
}

/**
 * PAP: the password XOR newchal, in 16-octet blocks (zero-padded), as hex. Chilli
 * (redir.c) unhides exactly one block, so passwords must be at most 16 octets.
 */
export function uamPapPassword(password: string, challengeHex: string, uamSecret: string): string {
  const key = uamChallenge(challengeHex, uamSecret);
  const plain = Buffer.from(password, 'utf8');
  const out = Buffer.alloc(Math.max(16, Math.ceil(plain.length / 16) * 16));
  plain.copy(out);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ key[i % 16]!;
  return out.toString('hex');
}

/** CHAP (RFC 1994 as RFC 2865 §5.3 carries it): MD5(ident ‖ password ‖ newchal), hex. */
export function uamChapResponse(password: string, challengeHex: string, uamSecret: string, ident = 0): string {
  return createHash('md5')
    .update(Buffer.from([ident]))
    .update(password, 'utf8')
    .update(uamChallenge(challengeHex, uamSecret))
    .digest('hex');
}

/**
 * The router's logon URL for a one-time login (username = token id, password = token).
 * userurl is where Chilli sends the browser next: the person's own destination when it is
 * an absolute http(s) URL, else `fallback` (the portal's success page).
 */
export function uamLogonUrl(uam: ChilliLogin, method: 'pap' | 'chap', username: string, password: string, uamSecret: string, fallback: string): string {
  const url = new URL(`http://${uam.uamip}:${uam.uamport}/logon`);
  url.searchParams.set('username', username);
  if (method === 'pap') url.searchParams.set('password', uamPapPassword(password, uam.challenge, uamSecret));
  else url.searchParams.set('response', uamChapResponse(password, uam.challenge, uamSecret));
  url.searchParams.set('userurl', destinationToPassOn(uam.userurl) ?? fallback);
  return url.toString();
}

/** Whether a URL is `http://<host>[:port]/logon` with nothing else: Chilli's logon (the host is checked by the caller). */
export function isChilliLogonUrl(url: URL): boolean {
  return url.protocol === 'http:' && url.username === '' && url.password === '' && url.hash === '' && url.pathname === '/logon';
}
