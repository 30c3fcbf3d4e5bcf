import { isIP } from 'node:net';
import { BadInputError } from '../../errors.js';
import { isChilliLogonUrl, readChilliRedirect, type ChilliLogin } from './coovachilli.js';
import { isMikrotikLoginUrl, readMikrotikRedirect, type MikrotikLogin } from './mikrotik.js';
import { isOpenNdsAuthUrl, readOpenNdsRedirect, type OpenNdsLogin } from './opennds.js';
import type { UamNasLookup, UamRedirectOf } from './redirect-types.js';
import type { RedirectQuery } from './redirect-query.js';

/**
 * What the portal keeps of a router's redirect in its flow, by the router's kind: CoovaChilli
 * (coovachilli.ts), MikroTik hotspot (mikrotik.ts), openNDS FAS level 1 (opennds.ts).
 */
export type UamLogin = ChilliLogin | MikrotikLogin | OpenNdsLogin;

/** A redirect's router parameters, read (UamRedirectOf) for whichever router they are from. */
export type UamRedirect = UamRedirectOf<UamLogin>;

/**
 * What each router family can prove about the device a browser is:
 * - `redirect`: its redirect to the portal is signed (readUamRedirect ignores it unless the
 *   signature verifies), so the MAC in it is the router's word;
 * - `redemption`: the router redeems the one-time login over RADIUS with the device's
 *   Calling-Station-Id, which the token must match (radius/uam-login.ts).
 * CoovaChilli signs its redirect (md) and redeems over RADIUS; a MikroTik hotspot signs
 * nothing but redeems over RADIUS; openNDS at FAS level 1 signs nothing and has no RADIUS.
 */
export const UAM_PROOF: Readonly<Record<UamLogin['kind'], { readonly redirect: boolean; readonly redemption: boolean }>> = {
  coovachilli: { redirect: true, redemption: true },
  mikrotik: { redirect: false, redemption: true },
  opennds: { redirect: false, redemption: false },
};

/**
 * Reads a UAM router's parameters from a portal request: MikroTik's (link-login-only,
 * chap-id), openNDS's (hid) or CoovaChilli's (uamip, challenge, md, verified against the
 * portal URL as Chilli knows it: one of `portalUrls`). Untrusted input, checked by each
 * router's reader; anything wrong: ignored, with why.
 */
export function readUamRedirect(query: RedirectQuery, rawQuery: string, portalUrls: readonly string[], lookup: UamNasLookup): UamRedirect {
  if (query['link-login-only'] !== undefined || query['chap-id'] !== undefined) return readMikrotikRedirect(query, lookup);
  if (query.hid !== undefined) return readOpenNdsRedirect(query, lookup);
  return readChilliRedirect(query, rawQuery, portalUrls, lookup);
}

/**
 * The one way out of the portal, to the configured UAM router `nas` at its UAM address:
 * `http://<uamip>:<uamport>/logon?…` (CoovaChilli), `http(s)://<address>/login?…`
 * (MikroTik) or `http://<gateway_address>:<gateway_port>/<authdir>/?…` (openNDS).
 * Anything else throws.
 */
export function checkedUamLogon(target: string, nas: string, lookup: UamNasLookup): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new BadInputError('refusing to redirect outside the portal');
  }
  const router = isIP(url.hostname) === 4 ? lookup(url.hostname, nas) : undefined;
  const uam = router?.name === nas ? router.uam : undefined;
  const ok =
    uam?.kind === 'coovachilli' ? isChilliLogonUrl(url) : uam?.kind === 'mikrotik' ? isMikrotikLoginUrl(url) : uam?.kind === 'opennds' && uam.opennds ? isOpenNdsAuthUrl(url, uam.opennds) : false;
  if (!ok) throw new BadInputError('refusing to redirect outside the portal');
  return target;
}
