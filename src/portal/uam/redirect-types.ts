import type { Mac } from '../../mac.js';
import type { NasClient } from '../../radius/clients.js';

/**
 * What every UAM router's half of the portal hand-off shares (coovachilli.ts, mikrotik.ts,
 * opennds.ts; read-redirect.ts reads a redirect with whichever applies).
 */

/**
 * The result of reading a redirect's router parameters: none, ignored (and why), or a usable
 * login `L` (what the portal keeps of it in its flow) with the device the router named
 * (openNDS may name none).
 */
export type UamRedirectOf<L> = { kind: 'none' } | { kind: 'ignored'; problem: string } | { kind: 'uam'; uam: L; mac?: Mac };

/** Finds the UAM router a redirect names (NasTable.uamNas); callers check its uam.kind. */
export type UamNasLookup = (uamip: string, nasid?: string) => NasClient | undefined;
