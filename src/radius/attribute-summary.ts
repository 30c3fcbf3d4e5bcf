import type { AttributeTuple } from './radius-lib.js';

/**
 * What an answer carried, for the audit trail and the console's "Recent decisions":
 * "Session-Timeout=3600, Tunnel-Type=VLAN, Tunnel-Medium-Type=IEEE-802, Tunnel-Private-Group-Id=10".
 * Only the policy's attribute lists are summarised (policy.ts); the keys and everything
 * made with the shared secret go out beside them (respond()'s raw attributes) and never
 * reach here. The names below are refused anyway, so that a list that ever carried one
 * could not put it in the trail.
 */
const NEVER_SUMMARISED: ReadonlySet<string> = new Set([
  // RFC 2548 §2.4.2-3: the 802.1X session keys, encrypted with the shared secret.
  'MS-MPPE-Send-Key',
  'MS-MPPE-Recv-Key',
  // RFC 3579 §3.2: an HMAC with the shared secret; EAP-Message and State: the conversation itself.
  'Message-Authenticator',
  'EAP-Message',
  'State',
  // RFC 2865 §5.2-3, RFC 2868 §3.5: hidden with the shared secret.
  'User-Password',
  'CHAP-Password',
  'Tunnel-Password',
]);

/**
 * Every answer is audited: a summary is built once per distinct list (policy.ts hands out
 * the same frozen list for the same answer: per NAS and second for a session, per VLAN,
 * per NAS for a no-session answer) and found again by identity, like packet.ts' encodings.
 */
const summaries = new WeakMap<readonly AttributeTuple[], string>();

/** The list as "Name=value, …" (a tag other than 0 as Name:tag), or undefined when it carries nothing to show. */
export function attributeSummary(attributes: readonly AttributeTuple[]): string | undefined {
  if (attributes.length === 0) return undefined;
  let summary = summaries.get(attributes);
  if (summary === undefined) {
    summary = attributes.flatMap(pairs).join(', ');
    summaries.set(attributes, summary);
  }
  return summary || undefined;
}

/** One attribute as name=value pairs: a Vendor-Specific attribute as the attributes it holds. */
function pairs(a: AttributeTuple): string[] {
  const [name, ...rest] = a;
  if (name === 'Vendor-Specific' && Array.isArray(rest[1])) return (rest[1] as AttributeTuple[]).flatMap(pairs);
  const shown = String(name);
  if (NEVER_SUMMARISED.has(shown)) return [];
  // [name, value] or [name, tag, value] (RFC 2868 tagged attributes: tag 0 is the only tunnel).
  const [tag, value] = rest.length >= 2 ? rest : [0, rest[0]];
  return [`${shown}${tag ? `:${String(tag)}` : ''}=${Buffer.isBuffer(value) ? `0x${value.toString('hex')}` : String(value)}`];
}
