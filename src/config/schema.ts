import { isIP } from 'node:net';
import { IANAZone } from 'luxon';
import { z } from 'zod';
import { accentProblem } from './accent-colour.js';

/**
 * The one configuration file, as a schema: every key has a default (where a safe
 * one exists) and a description. `enrollgate init` renders its commented example
 * from these descriptions, so the documentation cannot drift from the code.
 *
 * Objects are strict: a misspelt key is an error, not a silently ignored setting.
 * `prefault` (not `default`) so that nested defaults apply when a section is absent.
 */

/** store.redis.replica_ack_timeout_ms when not given (also for callers that build Redis settings themselves). */
export const DEFAULT_REPLICA_ACK_TIMEOUT_MS = 1000;

/** What a secret reference looks like, for messages. */
export const SECRET_FORMS = 'a secret: a non-empty string, { env: VARIABLE } or { file: path }';

/** A secret given inline, or read from an environment variable or a file at start-up. */
export const secretRef = z
  .union(
    [
      z.string().min(1, 'a non-empty secret'),
      z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name such as WLC1_RADIUS_SECRET') }),
      z.strictObject({ file: z.string().min(1, 'a file path') }),
    ],
    { error: SECRET_FORMS },
  )
  .describe('a secret: inline string, { env: VARIABLE } or { file: path } (the file\'s content, trailing newline removed)');

const PORT = 'a port number from 1 to 65535';
const port = z.number({ error: PORT }).int({ error: PORT }).min(1, { error: PORT }).max(65535, { error: PORT });
const attributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'an LDAP attribute name such as uid or cn');
// Each string kind gives its message for a wrong type too: "expected a string" would not say which string.
const HOST = 'an IP address such as 127.0.0.1 or 0.0.0.0';
const host = z.string({ error: HOST }).refine((v) => isIP(v) !== 0, HOST);

const HOST_NAME = 'a host name or IP address such as redis-1.example.org or 10.0.0.5';
const hostName = z
  .string({ error: HOST_NAME })
  .refine((v) => isIP(v) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(v), HOST_NAME);

const IPV4 = 'an IPv4 address such as 10.1.0.1';
const ipv4 = z.string({ error: IPV4 }).refine((v) => isIP(v) === 4, IPV4);

const IP_OR_CIDR = 'an IP address or CIDR such as 10.0.0.1 or 10.0.0.0/24';
const ipOrCidr = z.string({ error: IP_OR_CIDR }).refine((v) => {
  const [addr, bits, extra] = v.split('/');
  if (extra !== undefined || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}, IP_OR_CIDR);

// A YAML 1.1 reader turns an unquoted 04:00 into 240, hence the hint to quote it.
const TIME_OF_DAY = 'a 24-hour time HH:MM such as "04:00" (quoted)';
const timeOfDay = z.string({ error: TIME_OF_DAY }).regex(/^([01]\d|2[0-3]):[0-5]\d$/, TIME_OF_DAY);

const TIME_ZONE = 'an IANA time zone such as Europe/Berlin or UTC';
const timeZone = z.string({ error: TIME_ZONE }).refine((v) => IANAZone.isValidZone(v), TIME_ZONE);

const BASE_URL = 'an absolute http(s) URL without query, fragment or credentials, such as https://portal.example.org';
const baseUrl = z.string({ error: BASE_URL }).refine((v) => {
  try {
    const u = new URL(v);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.search === '' && u.hash === '' && u.username === '';
  } catch {
    return false;
  }
}, BASE_URL);

/** Names a router takes as VLAN, ACL or role: they end up inside RADIUS attributes, so no spaces or quotes. */
const routerName = (max: number, what: string) => z.string().regex(new RegExp(`^[0-9A-Za-z_.-]{1,${max}}$`), what);
const vlanName = routerName(32, 'a VLAN id or name of up to 32 letters, digits, ".", "_" or "-"');
const aclName = routerName(64, 'an ACL name of letters, digits, ".", "_" or "-"');
const roleName = routerName(64, 'a role name of letters, digits, ".", "_" or "-"');

const nasClient = z.strictObject({
  name: z.string().min(1).max(64).describe('a name for this router in logs and metrics'),
  address: ipOrCidr.describe('the source address the router sends from: one IP, or a CIDR for a group of access points'),
  secret: secretRef.describe('the RADIUS shared secret (use { env: ... } or { file: ... } to keep it out of this file)'),
  // WARNING: a short shared secret makes every MD5-based RADIUS protection guessable offline.
  allow_short_secret: z
    .boolean()
    .prefault(false)
    .describe('WARNING: accept a shared secret shorter than 16 characters (only for a router that cannot store a longer one; logged at every start)'),
  require_message_authenticator: z
    .boolean()
    .prefault(true)
    .describe('drop Access-Requests without a valid Message-Authenticator (BlastRADIUS, CVE-2024-3596); turn off only for routers that cannot send it'),
  profile: z
    .enum(['generic', 'cisco-wlc', 'aruba', 'coovachilli', 'mikrotik'])
    .prefault('generic')
    .describe(
      'how this router expects answers: generic (reject or VLAN), cisco-wlc (url-redirect to the portal), aruba (user roles), coovachilli / mikrotik (reject: they show their own portal)',
    ),
  no_session: z
    .strictObject({
      answer: z
        .enum(['reject', 'vlan', 'redirect', 'role'])
        .prefault('reject')
        .describe(
          'reject: Access-Reject, the router falls back to its portal; vlan: Accept into the registration VLAN; redirect (cisco-wlc): Accept with url-redirect to the portal; role (aruba): Accept with the unregistered role',
        ),
      vlan: vlanName.optional()
        .describe('the registration VLAN (with answer: vlan)'),
      redirect_acl: aclName.optional()
        .describe('cisco-wlc: the ACL that lets the device reach only the portal and DNS (url-redirect-acl)'),
      airespace_acl: aclName.optional()
        .describe('cisco-wlc (AireOS): Airespace-ACL-Name for devices without a session'),
      role: roleName.optional()
        .describe('aruba: the user role for devices without a session (with answer: role)'),
    })
    .superRefine((v, ctx) => {
      const need = (key: 'vlan' | 'redirect_acl' | 'role', what: string) => {
        if (v[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], input: undefined, message: `${what}, because answer is ${v.answer}` });
      };
      if (v.answer === 'vlan') need('vlan', 'a VLAN id or name');
      if (v.answer === 'redirect') need('redirect_acl', 'the name of the redirect ACL');
      if (v.answer === 'role') need('role', 'a role name');
    })
    .prefault({})
    .describe('what a device without a session gets'),
  with_session: z
    .strictObject({
      vlan: vlanName.optional()
        .describe('put devices with a session into this VLAN'),
      role: roleName.optional()
        .describe('aruba: the user role for devices with a session'),
      idle_timeout_seconds: z.number().int().min(60).max(86_400).optional().describe('Idle-Timeout: end the router session after this much silence'),
      terminate_time: z
        .boolean()
        .prefault(false)
        .describe('send WISPr-Session-Terminate-Time (the daily cut-off in local time) besides Session-Timeout'),
    })
    .prefault({})
    .describe('what an Access-Accept for a device with a session carries besides Session-Timeout'),
  dynamic_authorization: z
    .strictObject({
      enabled: z.boolean().prefault(false).describe('tell this router at once (RFC 5176) when a session is issued or revoked'),
      address: host.optional().describe("the router's dynamic-authorization address (default: its address, when that is one IP)"),
      port: port.optional().describe('UDP port (default 3799; 1700 for cisco-wlc)'),
      on_session: z
        .enum(['coa', 'disconnect'])
        .optional()
        .describe('what to send when a session is issued: coa (CoA-Request; the default for cisco-wlc) or disconnect (Disconnect-Request, so the device re-authenticates; the default otherwise)'),
      timeout_ms: z.number().int().min(100).max(10_000).prefault(1000).describe('wait this long for an answer before retrying'),
      retries: z.number().int().min(0).max(10).prefault(3).describe('retries after the first try (the wait doubles each time)'),
    })
    .prefault({})
    .describe('RFC 5176 CoA / Disconnect to this router'),
  uam: z
    .strictObject({
      kind: z
        .enum(['coovachilli', 'mikrotik', 'opennds'])
        .prefault('coovachilli')
        .describe(
          'which router hands browsers to the portal: coovachilli (UAM, signed redirect), mikrotik (hotspot with an external login page, HTTP-CHAP) or opennds (FAS level 1, no RADIUS)',
        ),
      secret: secretRef
        .optional()
        .describe("coovachilli: the router's UAM secret (uamsecret): signs its redirect (md) and hides the login password (at least 16 characters)"),
      // WARNING: a short UAM secret or faskey lets anyone who saw one redirect guess it offline, then forge
      // redirects (md) or authorise any device at an openNDS gateway (tok = sha256(hid ‖ faskey)).
      allow_short_secret: z
        .boolean()
        .prefault(false)
        .describe(
          'WARNING: accept a UAM secret (coovachilli) or faskey (opennds) shorter than 16 characters (only for a router that cannot store a longer one; logged at every start)',
        ),
      method: z
        .enum(['pap', 'chap'])
        .prefault('chap')
        .describe('how the portal hands the one-time login to the router: chap (response=, the default) or pap (password=)'),
      address: ipv4
        .optional()
        .describe(
          "the router's UAM address (CoovaChilli's uamlisten, the MikroTik hotspot address in link-login-only) when it is not within `address` (the RADIUS source address)",
        ),
      opennds: z
        .strictObject({
          faskey: secretRef.describe("openNDS's faskey: the authorisation token is sha256(hid ‖ faskey) (at least 16 characters)"),
          gateway_address: ipv4.describe('the openNDS gateway address (gatewayaddress without the port); authorisations are sent only there'),
          gateway_port: port.prefault(2050).describe('the openNDS gateway port (gatewayport)'),
          authdir: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a directory name of letters, digits, "_" or "-"')
            .prefault('opennds_auth')
            .describe("openNDS's virtual authentication directory (authdir)"),
        })
        .optional()
        .describe('kind opennds: the FAS level 1 settings (fas_secure_enabled 1 with a faskey)'),
    })
    .superRefine((u, ctx) => {
      if (u.kind === 'coovachilli' && u.secret === undefined) {
        ctx.addIssue({ code: 'custom', path: ['secret'], input: undefined, message: 'the UAM secret (uamsecret), because kind is coovachilli' });
      }
      if (u.kind === 'opennds' && u.opennds === undefined) {
        ctx.addIssue({ code: 'custom', path: ['opennds'], input: undefined, message: 'an opennds section (faskey, gateway_address), because kind is opennds' });
      }
      if (u.kind !== 'opennds' && u.opennds !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['opennds'], input: u.opennds, message: 'nothing: opennds is for kind opennds' });
      }
    })
    .optional()
    .describe(
      'this router sends browsers to the portal (CoovaChilli UAM, MikroTik hotspot, openNDS FAS): its redirects are honoured and logins are handed back to it (one-time tokens, or the openNDS authorisation)',
    ),
}).superRefine((c, ctx) => {
  const answer = c.no_session.answer;
  if (answer === 'redirect' && c.profile !== 'cisco-wlc') {
    ctx.addIssue({ code: 'custom', path: ['no_session', 'answer'], input: answer, message: 'reject or vlan: redirect is for profile cisco-wlc' });
  }
  if (answer === 'role' && c.profile !== 'aruba') {
    ctx.addIssue({ code: 'custom', path: ['no_session', 'answer'], input: answer, message: 'reject or vlan: role is for profile aruba' });
  }
  if (c.dynamic_authorization.enabled && c.dynamic_authorization.address === undefined && c.address.includes('/')) {
    ctx.addIssue({
      code: 'custom',
      path: ['dynamic_authorization', 'address'],
      input: undefined,
      message: 'an IP address: the router is given as a CIDR, so where to send CoA must be said',
    });
  }
});


const VERSION = 'a version such as "16" or "16.4" (quoted)';
const osVersion = z.string({ error: VERSION }).regex(/^\d{1,3}(\.\d{1,3}){0,2}$/, VERSION);

const DEVICE_LIMIT = 'a whole number of devices from 0 (unlimited) to 1000';
const deviceLimit = z
  .number({ error: DEVICE_LIMIT })
  .int(DEVICE_LIMIT)
  .min(0, DEVICE_LIMIT)
  .max(1000, DEVICE_LIMIT);

const SSID = 'an SSID of 1 to 32 bytes';
const SSID_CONTROL = 'an SSID without control characters (a newline, a tab, …): the Windows and Apple profiles (XML) cannot carry them, and a pasted nmcli line would name another network';
const ssid = z
  .string({ error: SSID })
  .refine((v) => { const n = Buffer.byteLength(v, 'utf8'); return n >= 1 && n <= 32; }, SSID)
  // C0 controls, DEL and C1 controls.
  .refine((v) => !/[\u0000-\u001f\u007f-\u009f]/.test(v), SSID_CONTROL);

const SERVER_NAME = 'a RADIUS server certificate name such as radius.example.org or *.example.org';
const serverName = z.string({ error: SERVER_NAME }).regex(/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/, SERVER_NAME);

// Passpoint's HomeSP FQDN and NAI realm: DNS names (Android compares them as text; at most 255 bytes, HomeSp.validate).
const PASSPOINT_FQDN = 'a domain name such as wifi.example.org (letters, digits, hyphens, at least two labels)';
const DOMAIN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const passpointFqdn = z.string({ error: PASSPOINT_FQDN }).regex(DOMAIN, PASSPOINT_FQDN);
const PASSPOINT_REALM = 'a realm such as example.org (a domain name, at most 253 bytes)';
const passpointRealm = z.string({ error: PASSPOINT_REALM }).regex(DOMAIN, PASSPOINT_REALM);
// IEEE 802.11 §9.4.1.31: an OI is 3 octets (an OUI) or 5 (an OUI-36 / CID with two more); Android keeps it in 40 bits.
const ROAMING_OI = 'a roaming consortium OI of 3 or 5 octets in hexadecimal, such as "001bc5" or "5a03ba0000" (quoted)';
const roamingConsortiumOi = z.string({ error: ROAMING_OI }).regex(/^([0-9A-Fa-f]{6}|[0-9A-Fa-f]{10})$/, ROAMING_OI);

const REVERSE_DNS = 'a reverse-DNS identifier such as org.example.wifi';
const reverseDns = z.string({ error: REVERSE_DNS }).regex(/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, REVERSE_DNS).max(120, REVERSE_DNS);

/** One Wi-Fi network the iOS enrollment profile configures (Apple's com.apple.wifi.managed payload). */
const wifiNetwork = z
  .strictObject({
    ssid: ssid.describe('the network name (SSID)'),
    security: z
      .enum(['open', 'wpa2-personal', 'wpa3-personal', 'eap-peap', 'eap-ttls', 'eap-tls'])
      .describe('open; wpa2-personal / wpa3-personal (pre-shared key); eap-peap, eap-ttls or eap-tls (WPA2/WPA3 Enterprise with a RADIUS server)'),
    password: secretRef.optional().describe('wpa2-personal / wpa3-personal: the pre-shared key (8 to 63 characters)'),
    hidden: z.boolean().prefault(false).describe('the network does not broadcast its SSID'),
    auto_join: z.boolean().prefault(true).describe('join automatically when in range'),
    ttls_inner: z.enum(['pap', 'mschapv2']).prefault('mschapv2').describe('eap-ttls: the inner authentication (pap or mschapv2)'),
    server_names: z
      .array(serverName)
      .optional()
      .describe('eap-*: the names in the RADIUS server\'s certificate the device may trust (TLSTrustedServerNames); required for enterprise networks'),
    outer_identity: z.string().min(1).max(128).optional().describe('eap-peap / eap-ttls: the anonymous outer identity, such as anonymous@example.org'),
  })
  .superRefine((w, ctx) => {
    const personal = w.security === 'wpa2-personal' || w.security === 'wpa3-personal';
    const enterprise = w.security.startsWith('eap-');
    if (personal && w.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], input: undefined, message: `the pre-shared key, because security is ${w.security}` });
    }
    if (!personal && w.password !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password'], input: w.password, message: `nothing: password is for wpa2-personal / wpa3-personal, not ${w.security}` });
    }
    if (enterprise && (w.server_names === undefined || w.server_names.length === 0)) {
      ctx.addIssue({ code: 'custom', path: ['server_names'], input: w.server_names, message: `at least one RADIUS server name, because security is ${w.security}` });
    }
    if (w.outer_identity !== undefined && w.security !== 'eap-peap' && w.security !== 'eap-ttls') {
      ctx.addIssue({ code: 'custom', path: ['outer_identity'], input: w.outer_identity, message: 'nothing: outer_identity is for eap-peap and eap-ttls' });
    }
  });

// The walled garden (src/ports): addresses a device on the registration network connects to,
// so not 0.0.0.0, :: or an IPv6 address with a zone (%eth0), which firewalls do not take.
const REACHABLE_IP = 'an IP address devices can reach, such as 10.99.0.1 or fd00:99::1';
const reachableIp = z.string({ error: REACHABLE_IP }).refine((v) => isIP(v) !== 0 && !v.includes('%') && v !== '0.0.0.0' && v !== '::', REACHABLE_IP);

const NETWORK = 'a network in CIDR form, such as 10.99.0.0/24 or fd00:99::/64';
const network = z.string({ error: NETWORK }).refine((v) => {
  const [addr = '', bits = '', extra] = v.split('/');
  const family = isIP(addr);
  return extra === undefined && family !== 0 && !addr.includes('%') && /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, NETWORK);

const HOST_OR_ADDRESS = 'a host name such as ocsp.example.com (*.example.com for its subdomains) or an IP address';
const hostOrAddress = z
  .string({ error: HOST_OR_ADDRESS })
  .refine(
    (v) => (isIP(v) !== 0 && !v.includes('%') && v !== '0.0.0.0' && v !== '::') || (v.length <= 253 && /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/.test(v)),
    HOST_OR_ADDRESS,
  );

/**
 * Examples, not a recommendation: the OCSP responders and CRL servers named by the
 * certificates of some large public CAs (DigiCert; Sectigo; Let's Encrypt, which has CRLs
 * only). The right list is the one the portal's own certificate and its issuers name.
 * Google Trust Services' hosts are left out on purpose: Google's front ends also answer
 * Android's captive probe, and TCP 80 opened to their addresses would let it past the portal.
 */
export const EXAMPLE_REVOCATION_HOSTS = ['ocsp.digicert.com', 'crl3.digicert.com', 'crl4.digicert.com', 'ocsp.sectigo.com', 'crl.sectigo.com', '*.c.lencr.org'] as const;

/** The time servers phones use out of the box: iOS and macOS, Android, Windows. */
export const DEFAULT_NTP_SERVERS = ['time.apple.com', 'time.android.com', 'time.windows.com'] as const;

const walledGarden = z
  .strictObject({
    portal_addresses: z
      .array(reachableIp)
      .prefault([])
      .describe("the portal's addresses as devices reach them (default: portal.base_url's host when it is an IP address, else the listeners' addresses other than 0.0.0.0, :: and loopback)"),
    dns_servers: z.array(reachableIp).prefault([]).describe('the DNS servers DHCP gives devices that are not enrolled: UDP and TCP 53 are opened to them'),
    registration_networks: z
      .array(network)
      .prefault([])
      .describe('where devices that are not enrolled send from (the registration VLAN), IPv4 and IPv6; the nftables and iptables rules apply to these sources only'),
    apns_ipv4: z
      .enum(['apple-network', 'apns-ranges'])
      .prefault('apple-network')
      .describe("Apple push over IPv4: apple-network opens Apple's 17.0.0.0/8, as Apple recommends; apns-ranges only the APNs ranges Apple lists for networks that cannot (Apple support article 102266)"),
    include_retired_apns: z
      .boolean()
      .prefault(false)
      .describe('also open TCP 2195/2196, the legacy APNs binary provider API that Apple retired on 31 March 2021 (only an old MDM server on the registration network could want it)'),
    certificate_checks: z
      .strictObject({
        enabled: z
          .boolean()
          .prefault(false)
          .describe(
            "open what devices need to check the portal's certificate before they are enrolled (RFC 8908 §4.1): its OCSP responders and CRLs (TCP 80) and NTP servers (UDP 123)",
          ),
        revocation_hosts: z
          .array(hostOrAddress)
          .max(64)
          .prefault([...EXAMPLE_REVOCATION_HOSTS])
          .describe(
            "the OCSP responders and CRL servers the portal's certificate and its issuers name (openssl x509 -noout -ocsp_uri; the CRL Distribution Points); the default is only an example, some large public CAs' hosts (opened by address, TCP 80 must not reach a captive probe's host: do not list Google's)",
          ),
        ntp_servers: z
          .array(hostOrAddress)
          .max(64)
          .prefault([...DEFAULT_NTP_SERVERS])
          .describe("NTP servers devices use: by default the phones' own (time.apple.com, time.android.com, time.windows.com); add any your DHCP hands out"),
      })
      .prefault({})
      .describe("optional: let devices check the portal's certificate (revocation, time) before they are enrolled"),
  })
  .prefault({})
  .describe('the walled garden: what devices that are not enrolled yet must reach (enrollgate ports, /portal/walled-garden)');

export const configSchema = z.strictObject({
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).prefault('info').describe('log level (JSON lines on stdout)'),
    })
    .prefault({})
    .describe('logging'),
  session: z
    .strictObject({
      daily_cutoff: timeOfDay.prefault('04:00').describe('local time of day at which every session ends'),
      time_zone: timeZone.prefault('UTC').describe('IANA time zone of the daily cut-off'),
    })
    .prefault({})
    .describe('Wi-Fi sessions: when they end'),
  portal: z
    .strictObject({
      base_url: baseUrl
        .prefault('https://127.0.0.1:8443')
        .describe('public URL of the portal; every absolute link and redirect is built from it, never from the Host header'),
      organisation_name: z.string().min(1).max(80).prefault('Example Corp').describe('shown at the top of every page'),
      support_contact: z.string().min(1).max(120).prefault('your IT helpdesk').describe('who employees should ask for help'),
      http: z
        .strictObject({
          host: host.prefault('127.0.0.1').describe('address for plain HTTP (where captive probes land)'),
          port: port.prefault(8080).describe('TCP port for plain HTTP'),
        })
        .prefault({})
        .describe('the plain HTTP listener, where the router sends captive devices'),
      https: z
        .strictObject({
          host: host.prefault('127.0.0.1').describe('address for HTTPS'),
          port: port.prefault(8443).describe('TCP port for HTTPS'),
          cert_file: z.string().prefault('../certs/server.pem').describe('server certificate (PEM, with chain)'),
          key_file: z.string().prefault('../certs/server-key.pem').describe('server private key (PEM)'),
        })
        .prefault({})
        .describe('the HTTPS listener (paths relative to this file)'),
      trust_proxy: z
        .boolean()
        .prefault(false)
        .describe('take the client address from X-Forwarded-For (only behind a reverse proxy you run)'),
      max_in_flight: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .prefault(512)
        .describe('requests handled at once; past it the portal answers 503 with Retry-After (health checks and metrics excepted) instead of queueing without bound'),
      identify_by_redirect_parameters: z
        .boolean()
        .prefault(true)
        .describe("when accounting does not know a browser's address, trust the MAC in the router's redirect parameters (mac, client_mac, id ...)"),
      flow_ttl_seconds: z.number().int().min(60).max(3600).prefault(900).describe('how long a portal page stays valid, in seconds (60 to 3600)'),
      branding: z
        .strictObject({
          logo_file: z.string().min(1).optional().describe('a PNG or SVG (at most 32 KB) shown at the top of every page in place of the Wi-Fi mark'),
          accent_colour: z
            .string()
            .optional()
            .describe('#rrggbb of buttons and links in light mode; refused below 4.5:1 contrast with the page, the cards and the white button text (WCAG 2.1 AA)'),
          accent_colour_dark: z
            .string()
            .optional()
            .describe('#rrggbb of buttons and links in dark mode (checked the same way); without it, accent_colour lightened until it passes'),
        })
        .superRefine((b, ctx) => {
          if (b.accent_colour !== undefined) {
            const problem = accentProblem(b.accent_colour, 'light');
            if (problem) ctx.addIssue({ code: 'custom', path: ['accent_colour'], input: b.accent_colour, message: problem });
          }
          if (b.accent_colour_dark !== undefined) {
            const problem = accentProblem(b.accent_colour_dark, 'dark');
            if (problem) ctx.addIssue({ code: 'custom', path: ['accent_colour_dark'], input: b.accent_colour_dark, message: problem });
          }
        })
        .optional()
        .describe("the organisation's logo and accent colour on the employee pages"),
      terms: z
        .strictObject({
          file: z.string().min(1).describe('the terms as plain UTF-8 text (paragraphs apart by blank lines, at most 64 KB), relative to this file'),
          version: z
            .string()
            .min(1)
            .max(40)
            .regex(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, 'printable ASCII without leading or trailing spaces')
            .describe('names this text in the audit trail (terms.accepted): change it whenever the text changes'),
          title: z.string().min(1).max(80).prefault('Terms of use').describe('the heading of the terms page and the name the enroll form gives them'),
        })
        .optional()
        .describe('terms of use every person accepts before enrolling a device; each acceptance is audited with the version'),
      languages: z
        .strictObject({
          default: z
            .string()
            .regex(/^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en, de or pt-BR')
            .prefault('en')
            .describe("the language of a page when the browser asks for none offered (Accept-Language); shipped: en, de, fr, es"),
          offered: z
            .array(z.string().regex(/^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en, de or pt-BR'))
            .min(1)
            .optional()
            .describe('the languages the pages are offered in (default: every shipped one and every one in dir)'),
          dir: z
            .string()
            .min(1)
            .optional()
            .describe("a folder of <language>.yaml files whose texts replace the shipped ones key by key, or add a language (English where one says nothing), relative to this file"),
        })
        .prefault({})
        .describe("the employee pages' languages, picked from the browser's Accept-Language or the visitor's choice (the admin console stays English)"),
    })
    .prefault({})
    .describe('the web portal captive devices are sent to'),
  radius: z
    .strictObject({
      host: host.prefault('127.0.0.1').describe('address RADIUS listens on'),
      auth_port: port.prefault(1812).describe('UDP port for authentication (RFC 2865)'),
      acct_port: port.prefault(1813).describe('UDP port for accounting (RFC 2866)'),
      workers: z
        .number({ error: 'a whole number of processes from 1 to 16' })
        .int('a whole number of processes from 1 to 16')
        .min(1, 'a whole number of processes from 1 to 16')
        .max(16, 'a whole number of processes from 1 to 16')
        .prefault(1)
        .describe('RADIUS worker processes sharing the authentication port, one per core to use, and one more for accounting (1: RADIUS runs in the main process); init writes the number of cores of the machine it runs on'),
      clients: z.array(nasClient).prefault([]).describe('the NAS (routers, controllers, access points: RADIUS clients) allowed to ask; packets from other addresses are dropped. The key keeps RADIUS\'s word "clients" so that existing configs stay valid; everywhere else (code, metrics label nas, logs, the admin API) each entry is a NAS'),
      max_in_flight: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .prefault(4096)
        .describe('requests waiting for the store at once; past it requests are dropped and counted (reason overload) and the router retries'),
      shared_retransmission_cache: z
        .boolean()
        .prefault(false)
        .describe('with store.kind redis: share the RFC 5080 retransmission cache between gateways, so a router failing over gets the first answer again (one Redis round trip per request)'),
      store_deadline_ms: z
        .number()
        .int()
        .min(50)
        .max(5000)
        .prefault(1000)
        .describe('the longest a RADIUS answer waits for the state store; keep it below your routers\' retry timer (often 3-5 s)'),
      fail_mode: z
        .enum(['closed', 'open'])
        .prefault('closed')
        .describe(
          'when the state store cannot answer: closed rejects (the router falls back to its portal or secondary server); WARNING: open accepts devices this gateway saw with a live session within fail_open_max_age_seconds, even if revoked since',
        ),
      fail_open_max_age_seconds: z.number().int().min(60).max(86_400).prefault(14_400).describe('fail_mode open: how old a remembered session may be and still be accepted'),
    })
    .prefault({})
    .describe('the RADIUS server the routers ask'),
  store: z
    .strictObject({
      kind: z.enum(['sqlite', 'redis']).prefault('sqlite').describe('sqlite: one file, one gateway (the embedded default); redis: shared by several gateways'),
      sqlite_file: z.string().prefault('state.sqlite').describe('SQLite file (relative to this config file)'),
      sqlite_mmap_mb: z
        .number({ error: 'a whole number of megabytes from 0 to 1024' })
        .int('a whole number of megabytes from 0 to 1024')
        .min(0, 'a whole number of megabytes from 0 to 1024')
        .max(1024, 'a whole number of megabytes from 0 to 1024')
        .prefault(0)
        .describe(
          'how much of the SQLite file each gateway process maps into memory (0: none, reads go through the page cache). Mapped pages are read without a copy but count in the process\'s RSS',
        ),
      redis: z
        .strictObject({
          url: secretRef
            .optional()
            .describe('one Redis server: redis://[user:password@]host:6379[/db] or rediss:// for TLS (a secret: it may hold the password); or give sentinel instead'),
          sentinel: z
            .strictObject({
              name: z
                .string()
                .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'the name the sentinels monitor the primary under (sentinel monitor NAME ...), such as mymaster')
                .describe('the name the sentinels monitor the primary under (the NAME of `sentinel monitor NAME host port quorum`)'),
              sentinels: z
                .array(z.strictObject({ host: hostName.describe('a sentinel\'s host name or address'), port: port.prefault(26379).describe('its port') }))
                .min(1, 'a list of at least one sentinel ({ host, port }); give all of them, three or more')
                .describe('the sentinels to ask where the primary is, as [{ host, port }] (port 26379 if left out): all of them, three or more, so that any one may be down'),
              username: z.string().min(1).optional().describe('the ACL user on the primary and replicas (default: the default user)'),
              password: secretRef.optional().describe('the password of the primary and replicas (requirepass, or the ACL user\'s)'),
              sentinel_username: z.string().min(1).optional().describe('the ACL user on the sentinels, if they require one'),
              sentinel_password: secretRef.optional().describe('the sentinels\' own password (requirepass in sentinel.conf), if they require one'),
              database: z.number().int().min(0).max(99).prefault(0).describe('the database number'),
            })
            .optional()
            .describe('a primary and replicas watched by Redis Sentinel, instead of url: the gateway asks the sentinels for the primary and follows a failover'),
          key_prefix: z
            .string()
            .regex(/^[A-Za-z0-9_.-]{0,32}:?$/, 'letters, digits, "_", "." or "-", up to 32, optionally ending in ":"')
            .prefault('enrollgate:')
            .describe('prefix of every key, so that other applications can share the Redis database'),
          connect_timeout_ms: z
            .number()
            .int()
            .min(100)
            .max(60_000)
            .prefault(2000)
            .describe(
              'how long to wait for Redis when connecting; with sentinel also the longest a request waits while the sentinels find a primary (a failover). A call Redis takes and does not answer (a frozen server, packets dropped) fails after twice this plus replica_ack_timeout_ms (5 s by default): the portal and the APIs answer 503',
            ),
          min_replicas_ack: z
            .number()
            .int()
            .min(0)
            .max(16)
            .optional()
            .describe(
              'what a person is told is done (an enrollment, a session, a revocation, a block) is confirmed only once this many replicas have it (Redis WAIT), so that a failover cannot lose it; else the request fails (503). Default: 1 with sentinel, 0 with url. WARNING: 0 with sentinel lets a failover lose what was confirmed (logged at every start)',
            ),
          replica_ack_timeout_ms: z
            .number()
            .int()
            .min(10)
            .max(10_000)
            .prefault(DEFAULT_REPLICA_ACK_TIMEOUT_MS)
            .describe('with min_replicas_ack above 0: how long a confirmed write waits for the replicas before the request fails'),
        })
        .superRefine((r, ctx) => {
          if (r.url !== undefined && r.sentinel !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['sentinel'], input: r.sentinel, message: 'either url or sentinel, not both (url names one server; sentinel finds the primary)' });
          }
          if (r.url === undefined && r.sentinel === undefined) {
            ctx.addIssue({ code: 'custom', path: ['url'], input: undefined, message: 'a url (one Redis server) or a sentinel section (a primary watched by Redis Sentinel)' });
          }
        })
        .optional()
        .describe('the Redis server, or the sentinels of a primary and its replicas (with kind: redis)'),
    })
    .superRefine((s, ctx) => {
      if (s.kind === 'redis' && s.redis === undefined) {
        ctx.addIssue({ code: 'custom', path: ['redis'], input: undefined, message: 'a redis section (url or sentinel), because kind is redis' });
      }
    })
    .prefault({})
    .describe('where state (devices, sessions, accounting) is kept'),
  directory: z
    .strictObject({
      kind: z.enum(['file', 'ldap']).prefault('file').describe('file: the local users file; ldap: an LDAP directory'),
      file: z
        .strictObject({
          path: z.string().prefault('users.yaml').describe('users file with scrypt-hashed passwords (and, for 802.1X PEAP, each person\'s nt_hash, which is password-equivalent)'),
          required_group: z.string().optional().describe('only members of this group may log in'),
        })
        .prefault({})
        .describe('the local users file (with kind: file)'),
      ldap: z
        .strictObject({
          url: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'ldap://host:port or ldaps://host:port').describe('directory server, ldaps://host:636 or ldap://host:389'),
          start_tls: z.boolean().prefault(false).describe('upgrade ldap:// with StartTLS before binding'),
          ca_file: z.string().optional().describe("CA certificate (PEM) to trust for the directory's TLS certificate"),
          bind_dn: z.string().min(1, 'a DN such as cn=portal-svc,ou=services,dc=example,dc=org').describe('service account DN used to find users'),
          bind_password: secretRef.describe('service account password'),
          base_dn: z.string().min(1, 'a DN such as ou=people,dc=example,dc=org').describe('where users are searched (whole subtree)'),
          user_attribute: attributeName.prefault('uid').describe('attribute holding the login name (uid, sAMAccountName ...)'),
          display_name_attribute: attributeName.prefault('cn').describe('attribute holding the name shown to the user'),
          required_group: z
            .string()
            .optional()
            .describe('DN of a group whose members may use the Wi-Fi (the whole DN: a name or one RDN alone never matches and is warned about)'),
          timeout_ms: z.number().int().min(100).max(60_000).prefault(5000).describe('per-operation timeout in milliseconds'),
          connect_timeout_ms: z.number().int().min(100).max(60_000).prefault(3000).describe('timeout for opening the connection, in milliseconds'),
        })
        .optional()
        .describe('LDAP settings (with kind: ldap)'),
    })
    .superRefine((d, ctx) => {
      if (d.kind === 'ldap' && d.ldap === undefined) {
        ctx.addIssue({ code: 'custom', path: ['ldap'], input: undefined, message: 'an ldap section (url, bind_dn, bind_password, base_dn), because kind is ldap' });
      }
    })
    .prefault({})
    .describe('where people log in: the users file or LDAP'),
  android: z
    .strictObject({
      agent: z
        .strictObject({
          name: z.string().min(1).max(80).prefault('Device agent').describe('shown on the download page'),
          version: z.string().min(1).max(40).describe('agent version shown on the page'),
          file: z.string().optional().describe('the agent APK, served by the portal (size and SHA-256 are computed at start-up)'),
          url: baseUrl.optional().describe('or an external download link (for example the Play Store page)'),
          size_bytes: z.number().int().positive().optional().describe('with url: the size to show'),
          sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, '64 hexadecimal digits').optional().describe('with url: the SHA-256 to show'),
        })
        .superRefine((a, ctx) => {
          if (a.file !== undefined && a.url !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['url'], input: a.url, message: 'exactly one of file or url, but file is given too' });
          } else if (a.file === undefined && a.url === undefined) {
            ctx.addIssue({ code: 'custom', path: ['file'], input: undefined, message: 'exactly one of file (the APK) or url' });
          }
        })
        .optional()
        .describe('the MDM agent Android devices download before enrolling'),
    })
    .prefault({})
    .describe('Android devices'),
  passpoint: z
    .strictObject({
      enabled: z
        .boolean()
        .prefault(false)
        .describe('offer Android devices a Passpoint (Hotspot 2.0) profile at the portal: one file, installed by Android itself, that joins every access point advertising this provider with the device\'s own EAP-TLS certificate; needs eap.enabled with tls'),
      fqdn: passpointFqdn
        .optional()
        .describe("the home provider's domain (HomeSP FQDN), such as wifi.example.org: the phone treats access points that advertise it as home, and accepts only a RADIUS server certificate whose DNS name is it or ends in .<it>; required when enabled"),
      friendly_name: z
        .string()
        .refine((v) => v.trim() !== '' && Buffer.byteLength(v, 'utf8') <= 255, 'a name of 1 to 255 bytes')
        .optional()
        .describe('the provider name Android shows for the profile (default: "<portal.organisation_name> Wi-Fi")'),
      realm: passpointRealm.optional().describe('the NAI realm of the credential, advertised by the access points (default: fqdn); the phone says anonymous@<realm> as its EAP identity'),
      roaming_consortium_ois: z
        .array(roamingConsortiumOi)
        .max(36, 'at most 36 roaming consortium OIs (Android refuses more)')
        .refine((o) => new Set(o.map((v) => v.toLowerCase())).size === o.length, 'each OI once')
        .prefault([])
        .describe('roaming consortium OIs the access points advertise, as hexadecimal strings of 3 or 5 octets (6 or 10 digits), such as "5a03ba0000"; a phone also matches an access point by one of them'),
      method: z
        .enum(['eap-tls'], { error: 'eap-tls: the profile carries the device\'s own certificate; EAP-TTLS would put the person\'s password in the file, and the portal keeps no password (see docs/passpoint.md)' })
        .prefault('eap-tls')
        .describe('the credential in the profile: eap-tls only (the device certificate the gateway issues)'),
    })
    .superRefine((p, ctx) => {
      if (p.enabled && p.fqdn === undefined) ctx.addIssue({ code: 'custom', path: ['fqdn'], input: undefined, message: "the home provider's domain, such as wifi.example.org: required with enabled: true" });
    })
    .prefault({})
    .describe('Passpoint (Hotspot 2.0) profiles for Android, downloaded from the portal (docs/passpoint.md)'),
  enrollment: z
    .strictObject({
      device_limit: deviceLimit.prefault(3).describe('how many devices one person may enroll (0: unlimited)'),
      group_limits: z
        .array(
          z.strictObject({
            group: z
              .string()
              .min(1)
              .describe(
                'a directory group: its DN, quoted (inside { } or [ ] an unquoted DN splits at its commas), or its name, which matches the first RDN of a group DN; with LDAP, one RDN alone (ou=groups) never matches and is warned about',
              ),
            limit: deviceLimit.describe('the device limit for its members (0: unlimited)'),
          }),
        )
        .prefault([])
        .describe('other limits for members of these groups; a member of several gets the most generous'),
      platforms: z
        .strictObject({
          ios: z.boolean().prefault(true).describe('iPhones and iPads: a signed .mobileconfig'),
          macos: z.boolean().prefault(true).describe('Macs: the same signed .mobileconfig'),
          android: z.boolean().prefault(true).describe('Android: the agent (android.agent), else the 802.1X settings to enter by hand with the CA (.crt) and, for eap-tls, a PKCS#12'),
          windows: z.boolean().prefault(true).describe('Windows: a WLAN profile for netsh, the CA and, for eap-tls, a PKCS#12'),
          chromeos: z.boolean().prefault(true).describe('ChromeOS: an ONC file to import at chrome://network'),
          linux: z.boolean().prefault(true).describe('Linux: the settings written out with an nmcli command for NetworkManager, the CA (PEM) and, for eap-tls, a PKCS#12'),
        })
        .prefault({})
        .describe(
          'which platforms may enroll (true) or are refused (false), told by the browser\'s User-Agent at the portal and checked again on every enrollment (portal form, "this is an iPad", agent API); a device that says nothing we recognise never enrolls. Devices already enrolled keep working',
        ),
      min_os_version: z
        .strictObject({
          ios: osVersion.optional().describe('refuse iPhones and iPads older than this iOS / iPadOS version'),
          android: osVersion.optional().describe('refuse Android devices older than this version'),
        })
        .prefault({})
        .describe(
          'the oldest OS versions allowed to enroll; a device whose version is unknown is refused too (Chrome on Android says "Android 10; K" whatever it runs, so set android only with the agent). None for macOS, Windows, ChromeOS or Linux: their browsers do not tell the version',
        ),
      randomised_macs: z
        .enum(['refuse', 'accept'])
        .prefault('accept')
        .describe(
          'accept: enroll a locally administered (randomised, "private") MAC like any other; iOS 14+ and Android 10+ use one by default, kept per network ("Fixed" on iOS, persistent randomisation on Android), so it is stable here; refuse: it cannot enroll and the person is told how to use the device MAC on this network',
        ),
    })
    .prefault({})
    .describe('device policy: which platforms, how many devices per person, which OS versions, randomised MACs'),
  ios: z
    .strictObject({
      profile: z
        .strictObject({
          identifier: reverseDns.prefault('local.enrollgate').describe('the reverse-DNS prefix of profile and payload identifiers'),
          display_name: z.string().min(1).max(80).optional().describe('the profile name shown on the device (default: "<organisation_name> Wi-Fi")'),
          link_ttl_seconds: z.number().int().min(60).max(3600).prefault(300).describe('how long a profile download link stays valid (it works once)'),
          signing: z
            .strictObject({
              cert_file: z.string().describe('the signing certificate (PEM)'),
              key_file: z.string().describe('its private key (PEM, RSA)'),
              chain_file: z.string().optional().describe('intermediate certificates (PEM), to include in the signature'),
            })
            .optional()
            .describe(
              "sign profiles with this certificate (a publicly trusted one shows \"Verified\" on devices); default: a signing certificate issued by the gateway's CA",
            ),
        })
        .prefault({})
        .describe('the signed enrollment profile (.mobileconfig)'),
      wifi: z
        .array(wifiNetwork)
        .superRefine((networks, ctx) => {
          // Two payloads for one network: the device keeps one of them, and the portal's per-network files would clash.
          networks.forEach((n, i) => {
            const first = networks.findIndex((m) => m.ssid === n.ssid);
            if (first < i) ctx.addIssue({ code: 'custom', path: [i, 'ssid'], input: n.ssid, message: `an SSID no other network here has: ios.wifi[${first}] is this network already` });
          });
        })
        .prefault([])
        .describe('the Wi-Fi networks the enrollment profile sets up, one payload each'),
    })
    .prefault({})
    .describe('iPhones and iPads'),
  admin: z
    .strictObject({
      roles: z
        .strictObject({
          admin: z.array(z.string().min(1)).prefault([]).describe('directory groups whose members may do everything'),
          helpdesk: z.array(z.string().min(1)).prefault([]).describe('directory groups whose members see devices and sessions, revoke sessions, unenroll devices and block MACs'),
          auditor: z.array(z.string().min(1)).prefault([]).describe('directory groups whose members search and export the audit trail (read-only)'),
        })
        .prefault({})
        .describe(
          'who may use the admin console (/admin, HTTPS only): a member of several groups gets the strongest role; nobody, when none is listed. Each entry is a group DN, quoted (inside [ ] an unquoted DN splits at its commas), or a group name, which matches the first RDN of a group DN; with LDAP, one RDN alone (ou=groups) never matches and is warned about',
        ),
      api_tokens: z
        .array(
          z.strictObject({
            name: z.string().min(1).max(64).describe('who uses the token (shown in the audit trail as api:<name>)'),
            role: z.enum(['admin', 'helpdesk', 'auditor']).describe('what the token may do'),
            token: secretRef.describe('the bearer token (at least 32 characters)'),
          }),
        )
        .prefault([])
        .describe('tokens for the JSON admin API (/api/admin/v1, HTTPS only), one per script or system'),
      session_minutes: z.number().int().min(5).max(720).prefault(30).describe('how long an admin console login lasts without activity'),
    })
    .prefault({})
    .describe('the admin console and API for network admins, helpdesk and auditors'),
  audit: z
    .strictObject({
      dir: z.string().min(1).prefault('audit').describe('directory of the daily audit files, audit-YYYY-MM-DD.jsonl (relative to this file)'),
      hmac_key: secretRef
        .optional()
        .describe('a key (at least 32 characters) to seal every record with HMAC-SHA256: without it, whoever can write the files can rebuild a chain that verifies'),
      syslog: z
        .strictObject({
          host: z.string().min(1).max(253).describe('the SIEM or syslog relay (host name or IP)'),
          port: port.optional().describe('default: 514 for udp and tcp, 6514 for tls'),
          transport: z.enum(['udp', 'tcp', 'tls']).prefault('udp').describe('udp (RFC 5426), tcp (octet-counted, RFC 6587) or tls (RFC 5425)'),
          ca_file: z.string().optional().describe("tls: the CA certificate (PEM) to trust for the relay's certificate (default: the system's)"),
          facility: z.number().int().min(0).max(23).prefault(13).describe('the syslog facility number (13: log audit)'),
          queue_limit: z.number().int().min(100).max(10_000_000).prefault(100_000).describe('records kept in memory while the relay is unreachable; older ones are dropped (they stay in the local files) and counted'),
        })
        .optional()
        .describe('forward every record to a SIEM as RFC 5424 syslog; failures are retried and never block or lose the local record'),
    })
    .prefault({})
    .describe('the tamper-evident audit trail'),
  eap: z
    .strictObject({
      enabled: z.boolean().prefault(false).describe('answer 802.1X (EAP over RADIUS, RFC 3579) on the authentication port; without it an Access-Request carrying EAP is rejected'),
      methods: z
        .array(
          z.enum(['tls', 'ttls', 'peap'], {
            error: 'tls (EAP-TLS with a device certificate the gateway issued), ttls (EAP-TTLS with PAP inside) or peap (PEAPv0 with MSCHAPv2, users file with nt_hash only)',
          }),
        )
        .min(1, 'at least one EAP method: tls, ttls or peap')
        .refine((m) => new Set(m).size === m.length, 'each method once')
        .prefault(['tls', 'ttls'])
        .describe(
          "the EAP methods offered, the first one first (a device may ask for another in the list): tls (EAP-TLS with a device certificate the gateway issued), ttls (EAP-TTLS with PAP inside, checked against the directory through the portal's login throttle) and peap (PEAPv0 with EAP-MSCHAPv2, Windows' built-in client: only with directory.kind file, whose users keep an nt_hash, which is password-equivalent; an LDAP bind cannot check MSCHAPv2)",
        ),
      cert_file: z.string().prefault('../certs/eap-server.pem').describe("the EAP server's certificate (PEM, with chain); init issues one from the gateway's CA"),
      key_file: z.string().prefault('../certs/eap-server-key.pem').describe('its private key (PEM)'),
      tls_min_version: z.enum(['1.2', '1.3']).prefault('1.2').describe('the oldest TLS version a device may use'),
      tls_max_version: z.enum(['1.2', '1.3']).prefault('1.3').describe('the newest TLS version offered'),
      fragment_size: z
        .number()
        .int()
        .min(256, 'a size in bytes from 256 to 3000')
        .max(3000, 'a size in bytes from 256 to 3000')
        .prefault(1024)
        .describe('the largest EAP-TLS fragment sent in one Access-Challenge, in bytes (some access points drop RADIUS packets larger than their MTU)'),
      conversation_timeout_seconds: z.number().int().min(5).max(300).prefault(30).describe('how long an unfinished EAP conversation is kept between two packets'),
      max_conversations: z.number().int().min(16).max(1_000_000).prefault(10_000).describe('unfinished EAP conversations kept at once; past it new ones are rejected (existing ones go on)'),
      max_conversations_per_nas: z.number().int().min(16).max(1_000_000).prefault(2_000).describe('unfinished EAP conversations one NAS may have at once'),
      resumption_minutes: z.number().int().min(0).max(1440).prefault(60).describe('TLS session resumption for fast reconnects, how long a session may be resumed (0: off); the device is checked again at every resumption'),
      next_morning: z
        .enum(['renew', 'daily_login'])
        .prefault('renew')
        .describe('an enrolled device without a session (the next morning): renew checks its owner in the directory and starts a new session; daily_login lets it into the registration state so that the portal asks for a login'),
    })
    .refine((e) => !(e.tls_min_version === '1.3' && e.tls_max_version === '1.2'), { message: 'tls_min_version 1.3 is newer than tls_max_version 1.2', path: ['tls_min_version'] })
    .prefault({})
    .describe('802.1X: the gateway answers EAP itself (paths relative to this file)'),
  pki: z
    .strictObject({
      ca_cert_file: z.string().prefault('../certs/ca.pem').describe("the gateway's root CA certificate, offered to iOS devices"),
      ca_key_file: z.string().prefault('../certs/ca-key.pem').describe("the root CA's private key"),
      crl_url: baseUrl
        .optional()
        .describe("the CRL's URL named in every certificate the CA issues (CRL Distribution Points); default: portal.base_url + /pki/crl.der, which the portal serves"),
      ocsp_url: baseUrl
        .optional()
        .describe("the OCSP responder's URL named in every certificate the CA issues (Authority Information Access); default: portal.base_url + /pki/ocsp, which the portal answers"),
    })
    .prefault({})
    .describe("the gateway's own certificate authority (paths relative to this file)"),
  walled_garden: walledGarden,
}).superRefine((c, ctx) => {
  // A Passpoint profile carries an EAP-TLS certificate only the gateway's own EAP server checks.
  if (c.passpoint.enabled && !(c.eap.enabled && c.eap.methods.includes('tls'))) {
    ctx.addIssue({
      code: 'custom',
      path: ['passpoint', 'enabled'],
      input: true,
      message: "false, or turn on eap.enabled with tls in eap.methods: the Passpoint profile's EAP-TLS certificate is checked by the gateway's own EAP server",
    });
  }
  // With eap.enabled the gateway is the RADIUS server of the enterprise networks its profiles set up:
  // each must use a method it answers.
  if (!c.eap.enabled) return;
  // PEAP's inner MSCHAPv2 is checked with the password's NT hash: the users file can keep one, an LDAP bind cannot.
  const peapWithLdap = c.directory.kind === 'ldap';
  if (peapWithLdap && c.eap.methods.includes('peap')) {
    ctx.addIssue({
      code: 'custom',
      path: ['eap', 'methods'],
      input: c.eap.methods,
      message: "a list without peap: with directory.kind ldap the gateway cannot check PEAP's MSCHAPv2 (it needs the password's NT hash, which an LDAP bind cannot check); offer ttls (EAP-TTLS with PAP inside) instead",
    });
  }
  c.ios.wifi.forEach((w, i) => {
    if (w.security === 'eap-peap' && peapWithLdap) {
      ctx.addIssue({
        code: 'custom',
        path: ['ios', 'wifi', i, 'security'],
        input: w.security,
        message:
          "eap-tls, or eap-ttls with ttls_inner: pap: with eap.enabled the gateway answers this network's 802.1X, and with directory.kind ldap it cannot answer PEAP (its inner MSCHAPv2 needs the password's NT hash, which an LDAP bind cannot check)",
      });
    } else if (w.security === 'eap-ttls' && w.ttls_inner !== 'pap') {
      ctx.addIssue({
        code: 'custom',
        path: ['ios', 'wifi', i, 'ttls_inner'],
        input: w.ttls_inner,
        message: 'pap: with eap.enabled the gateway answers EAP-TTLS and checks the password itself (an LDAP bind or the users file), which only PAP gives it',
      });
    }
    const method = w.security === 'eap-tls' ? 'tls' : w.security === 'eap-ttls' ? 'ttls' : w.security === 'eap-peap' && !peapWithLdap ? 'peap' : undefined;
    if (method && !c.eap.methods.includes(method)) {
      ctx.addIssue({ code: 'custom', path: ['eap', 'methods'], input: c.eap.methods, message: `a list with ${method}: ios.wifi[${i}] (${w.ssid}) is ${w.security}` });
    }
  });
});

/** The configuration as written (before secrets and paths are resolved). */
export type RawConfig = z.output<typeof configSchema>;
