import type { AccountingStore } from '../accounting/accounting-store.js';
import { parseMac, type Mac } from '../mac.js';
import type { MacSource } from './flow.js';
import type { RedirectQuery } from './uam/redirect-query.js';
import { UAM_PROOF, type UamRedirect } from './uam/read-redirect.js';

/** RedirectQuery parameters routers use for the client's MAC and IP in their redirect to an external portal. */
const MAC_PARAMS = ['mac', 'client_mac', 'clientmac', 'id'] as const;
const IP_PARAMS = ['ip', 'clientip', 'client_ip'] as const;

export type Identification = { mac: Mac; source: MacSource } | { mac?: undefined; problem: string };

function one(query: RedirectQuery, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = query[name];
    if (typeof v === 'string' && v !== '') return v;
    if (Array.isArray(v)) return undefined; // repeated: ambiguous, trust none
  }
  return undefined;
}

/**
 * Which device a browser is, trusting in this order:
 * 1. the router's accounting: the IP→MAC lease it reported over RADIUS (`accounting`);
 * 2. a redirect the router signed, whose signature verified (CoovaChilli's md; `signed-redirect`);
 * 3. if the admin allows it, the MAC in unsigned redirect parameters (`claimed`): user input
 *    that anyone can type, used only when well-formed and when any IP it comes with is the
 *    browser's own address. A claim never shows a device's owner or session and never
 *    enrolls a device on its own (start.ts, submit.ts).
 */
export async function identifyDevice(
  ip: string,
  query: RedirectQuery,
  accounting: AccountingStore,
  allowRedirectParameters: boolean,
  uam: UamRedirect = { kind: 'none' },
): Promise<Identification> {
  const lease = await accounting.leaseFor(ip);
  if (lease) return { mac: lease.mac, source: 'accounting' };
  if (uam.kind === 'uam' && UAM_PROOF[uam.uam.kind].redirect && uam.mac) return { mac: uam.mac, source: 'signed-redirect' };
  if (!allowRedirectParameters) return { problem: 'no accounting record for this address' };
  const claimed = one(query, MAC_PARAMS);
  if (claimed === undefined) return { problem: 'no accounting record for this address and no router parameters' };
  const mac = parseMac(claimed);
  if (!mac) return { problem: 'the router parameter mac is not a device MAC address' };
  const claimedIp = one(query, IP_PARAMS);
  if (claimedIp !== undefined && claimedIp !== ip) return { problem: 'the router parameters name another IP address than the browser has' };
  return { mac, source: 'claimed' };
}
