import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { OpenNdsConfig } from '../../config/load.js';
import { parseMac } from '../../mac.js';
import type { UamNasLookup, UamRedirectOf } from './redirect-types.js';
import { destinationToPassOn, redirectParam, type RedirectQuery } from './redirect-query.js';

/**
 * openNDS forwarding authentication (FAS) at fas_secure_enabled level 1, the portal's half. Pure.
 *
 * openNDS docs (fas.rst, "Security", level 1) and its example fas-hid.php: with a faskey set,
 * the router redirects to the FAS with `hid` (the hex SHA-256 of the client's token),
 * `gatewayname`, `gatewayaddress` (ip:port), `clientip`, `clientmac`, `redir`, … and the FAS,
 * once it has verified the person, sends the browser to
 * `http://<gatewayaddress>/<authdir>/?tok=<hex SHA-256 of hid ‖ faskey>&redir=…`
 * (fas-hid.php: `$tok = hash('sha256', $hid.$key)`, both as text). No RADIUS is involved.
 */

/** What the portal keeps of an openNDS redirect in its flow. */
export interface OpenNdsLogin {
  readonly kind: 'opennds';
  /** The router's name (its NAS entry). */
  readonly nas: string;
  /** 64 hex digits, lower case, as openNDS sent it. */
  readonly hid: string;
  /** Where the person wanted to go; handed back to openNDS, never a redirect of ours. */
  readonly redir?: string;
}

const MAX_REDIR = 2048;

/** The level 1 authorisation token: hex SHA-256 of the hid text followed by the faskey. */
export function openNdsTok(hid: string, faskey: string): string {
  return createHash('sha256').update(hid, 'utf8').update(faskey, 'utf8').digest('hex');
}

/**
 * Reads openNDS's level 1 parameters. Untrusted input: each is checked for form, and
 * gatewayaddress must be the gateway of a configured openNDS router (address and port):
 * the portal sends authorisations only there. Anything wrong: the parameters are ignored.
 */
export function readOpenNdsRedirect(query: RedirectQuery, lookup: UamNasLookup): UamRedirectOf<OpenNdsLogin> {
  const hid = redirectParam(query, 'hid');
  const gatewayaddress = redirectParam(query, 'gatewayaddress');
  const gatewayname = redirectParam(query, 'gatewayname');
  const clientmac = redirectParam(query, 'clientmac');
  const redir = query.redir === undefined ? undefined : redirectParam(query, 'redir');
  if (hid === undefined || !/^[0-9a-fA-F]{64}$/.test(hid)) return { kind: 'ignored', problem: 'hid is not 64 hex digits' };
  const [address, portText, extra] = (gatewayaddress ?? '').split(':');
  if (address === undefined || isIP(address) !== 4 || extra !== undefined || (portText !== undefined && !/^\d{1,5}$/.test(portText))) {
    return { kind: 'ignored', problem: 'gatewayaddress is not <IPv4 address>:<port>' };
  }
  const mac = clientmac === undefined ? undefined : parseMac(clientmac);
  if (mac === null) return { kind: 'ignored', problem: 'clientmac is not a device MAC address' };
  if (query.redir !== undefined && (redir === undefined || redir.length > MAX_REDIR)) return { kind: 'ignored', problem: 'redir is repeated or too long' };
  const nas = lookup(address, gatewayname);
  const opennds = nas?.uam?.kind === 'opennds' ? nas.uam.opennds : undefined;
  if (!nas || !opennds || (portText !== undefined && Number(portText) !== opennds.gateway_port)) {
    return { kind: 'ignored', problem: 'gatewayaddress is not the gateway of a configured openNDS router' };
  }
  return {
    kind: 'uam',
    ...(mac ? { mac } : {}),
    uam: { kind: 'opennds', nas: nas.name, hid: hid.toLowerCase(), ...(redir ? { redir } : {}) },
  };
}

/**
 * The gateway's authorisation URL: `http://<gateway_address>:<gateway_port>/<authdir>/?tok=…&redir=…`,
 * redir being the person's destination when it is an absolute http(s) URL, else `fallback`
 * (the portal's success page).
 */
export function openNdsAuthUrl(login: OpenNdsLogin, config: OpenNdsConfig, fallback: string): string {
  const url = new URL(`http://${config.gateway_address}:${config.gateway_port}/${config.authdir}/`);
  url.searchParams.set('tok', openNdsTok(login.hid, config.faskey));
  url.searchParams.set('redir', destinationToPassOn(login.redir) ?? fallback);
  return url.toString();
}

/** Whether a URL is exactly the authorisation endpoint of this openNDS gateway. */
export function isOpenNdsAuthUrl(url: URL, config: OpenNdsConfig): boolean {
  return (
    url.protocol === 'http:' &&
    url.username === '' &&
    url.password === '' &&
    url.hash === '' &&
    url.hostname === config.gateway_address &&
    url.port === (config.gateway_port === 80 ? '' : String(config.gateway_port)) &&
    url.pathname === `/${config.authdir}/`
  );
}
