/**
 * The DNS name in the EAP server's certificate: what devices pin
 * (TLSTrustedServerNames in the iOS profile, the agent API's server_name on Android).
 * The name is never looked up; it only has to be in the certificate and in what the
 * device pins, so a name under the portal's domain keeps it recognisable.
 */
import { isIP } from 'node:net';

/** A host name that can go into a dNSName (letters, digits, hyphens; not an address). */
function dnsName(host: string): boolean {
  return isIP(host) === 0 && /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host) && /[a-z]/i.test(host.split('.').pop() ?? '');
}

/**
 * The first of ios.wifi[].server_names of an enterprise network when any is configured
 * (devices already pin it); else radius.<portal host> when the portal has a DNS name;
 * else radius.<machine host name>; else radius.enrollgate.invalid (RFC 2606: a name that
 * can never be somebody else's).
 */
export function eapServerName(o: {
  readonly wifi?: ReadonlyArray<{ readonly security: string; readonly server_names?: readonly string[] | undefined }>;
  readonly portalUrl: string;
  readonly hostname?: string;
}): string {
  const pinned = o.wifi?.find((w) => w.security.startsWith('eap-') && (w.server_names?.length ?? 0) > 0)?.server_names?.[0];
  if (pinned !== undefined) return pinned;
  const portalHost = new URL(o.portalUrl).hostname.replace(/^\[|\]$/g, '');
  if (dnsName(portalHost)) return `radius.${portalHost.toLowerCase()}`;
  if (o.hostname !== undefined && dnsName(o.hostname)) return `radius.${o.hostname.toLowerCase()}`;
  return 'radius.enrollgate.invalid';
}
