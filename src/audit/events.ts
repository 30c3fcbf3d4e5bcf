/**
 * Every security-relevant event the gateway records in its audit trail, as one
 * union: the compiler finds every place an event is written, and a new event
 * type must say whether it is a success or a failure (OUTCOMES below).
 *
 * Names are noun.verb. Fields are snake_case, as they appear in the audit files,
 * in exports and in the SIEM. No event carries a password, a shared secret or a
 * one-time token: only what a security officer needs to reconstruct who did what
 * to which device, when, through which router.
 */

/**
 * Through which door a person acted: the Wi-Fi page (`portal`), My devices, the agent
 * API of the enrollment apps, the admin console or the admin API.
 */
export type Surface = 'portal' | 'my_devices' | 'agent_api' | 'console' | 'api';

/**
 * Where a person acted from, on every login and admin event: the surface, the client's
 * address (as the portal sees it: the proxy's X-Forwarded-For with portal.trust_proxy)
 * and its User-Agent, cut to USER_AGENT_MAX characters (the header is the client's to
 * fill; the trail is not its storage).
 */
export interface ClientFields {
  surface?: Surface;
  ip?: string;
  user_agent?: string;
}

export const USER_AGENT_MAX = 256;

/** The ClientFields of a request; an empty or missing User-Agent is left out. */
export function clientFields(surface: Surface, ip: string | undefined, userAgent: string | undefined): ClientFields {
  return { surface, ...(ip ? { ip } : {}), ...(userAgent ? { user_agent: userAgent.slice(0, USER_AGENT_MAX) } : {}) };
}

export type AuditEvent =
  // The gateway itself.
  | { type: 'gateway.started'; version: string; pid: number; config_sha256: string }
  | { type: 'gateway.stopped'; pid: number; reason: string }
  | { type: 'config.loaded'; file: string; sha256: string }
  /**
   * The config file read again on a running gateway (SIGHUP, `enrollgate reload`): its SHA-256,
   * the top-level sections that differ from what ran, and the keys that differ but wait for a
   * restart. Names only, never a value.
   */
  | { type: 'config.reloaded'; file: string; sha256: string; changed: string[]; restart_needed: string[] }
  /** A reload refused (the gateway runs on as before): why, as the message names it (secrets hidden). */
  | { type: 'config.reload_failed'; file: string; reason: string }
  // People at the portal, the agent API and My devices.
  | ({ type: 'login.succeeded'; user: string; mac?: string } & ClientFields)
  | ({ type: 'login.failed'; user: string; mac?: string; code: string } & ClientFields)
  /**
   * My devices opened for a person: with their password there (`password`), or by the login
   * they had just made at the Wi-Fi page in the same browser (`wifi_login`, `mac` the device
   * that login was for), which spares them a second password for ten minutes.
   */
  | ({ type: 'my_devices.opened'; user: string; via: 'password' | 'wifi_login'; mac?: string } & ClientFields)
  | { type: 'login.throttled'; user: string; ip?: string; scope: 'user_and_address' | 'address'; failures: number; until: string }
  // Devices.
  | { type: 'device.enrolled'; mac: string; user: string; platform: string; os_version?: string; via: string; randomised_mac?: boolean }
  | { type: 'device.refused'; mac: string; user: string; via: string; code: string }
  /** The person accepted portal.terms (that version) on the enroll form, and the enrollment it came with went ahead. */
  | ({ type: 'terms.accepted'; user: string; mac: string; version: string } & ClientFields)
  | ({ type: 'device.unenrolled'; mac: string; user: string; reason: string; by?: string } & ClientFields)
  /** Its owner named it, or took the name away, in My devices: the name itself is not recorded. */
  | { type: 'device.renamed'; mac: string; user: string }
  // `user`: the device's owner, when it is enrolled (an admin or the command line acts on somebody's device).
  | ({ type: 'device.blocked'; mac: string; user?: string; by: string; reason: string } & ClientFields)
  | ({ type: 'device.unblocked'; mac: string; user?: string; by: string } & ClientFields)
  // Certificates of the gateway's CA (EAP-TLS identities): issued to a device, revoked (RFC 5280 reason name).
  /** A file the portal handed a device's owner through a one-time link (a profile, the CA, Wi-Fi settings, a PKCS#12). */
  | { type: 'profile.downloaded'; mac: string; user: string; platform: string; file: string }
  | { type: 'certificate.issued'; mac: string; user: string; serial: string; not_after: string; via: string }
  | ({ type: 'certificate.revoked'; mac: string; user?: string; serial: string; reason: string; by?: string } & ClientFields)
  // Sessions.
  | { type: 'session.issued'; mac: string; user: string; origin: string; ends_at: string }
  // `user`: whose session it was.
  | ({ type: 'session.revoked'; mac: string; user?: string; reason: string; by?: string } & ClientFields)
  | { type: 'session.expired'; mac: string; user: string; ended_at: string }
  // RADIUS.
  /** attributes: what the accept carried besides keys and signatures ("Session-Timeout=3600, Tunnel-Type=VLAN, …": radius/attribute-summary.ts). */
  | { type: 'radius.accepted'; nas: string; mac?: string; user?: string; reason?: string; attributes?: string }
  | { type: 'radius.rejected'; nas: string; mac?: string; reason: string }
  /** 802.1X: method tls/ttls/peap; mac is the device the identity names, station the Calling-Station-Id when it differs. */
  | {
      type: 'eap.accepted';
      nas: string;
      method: string;
      tls_version?: string;
      resumed?: boolean;
      mac?: string;
      station?: string;
      user?: string;
      serial?: string;
      reason: string;
      /** The session's attributes the accept carried, never the MS-MPPE keys or EAP-Message sent beside them. */
      attributes?: string;
    }
  | { type: 'eap.rejected'; nas: string; method?: string; tls_version?: string; resumed?: boolean; mac?: string; station?: string; user?: string; serial?: string; reason: string }
  | { type: 'accounting.started'; nas: string; mac: string; user?: string; ip?: string; session_id: string }
  | {
      type: 'accounting.stopped';
      nas: string;
      mac: string;
      user?: string;
      ip?: string;
      session_id: string;
      input_octets: number;
      output_octets: number;
      duration_s?: number;
      terminate_cause?: string;
    }
  // RFC 5176 requests to routers, once their fate is known.
  | { type: 'router.notified'; nas: string; kind: 'coa' | 'disconnect'; mac: string; result: 'ack' | 'nak' | 'timeout' | 'error'; error_cause?: number }
  // The users file changed by `enrollgate users` (by: cli:<OS user>); never a password or a hash.
  | { type: 'user.added'; user: string; by: string; nt_hash: boolean }
  | { type: 'user.password_changed'; user: string; by: string; nt_hash: 'replaced' | 'added' | 'none' }
  | { type: 'user.removed'; user: string; by: string }
  // The admin console and API; `admin` is the acting person (or api:<token name>).
  | ({ type: 'admin.logged_in'; admin: string; role: string } & ClientFields)
  | ({ type: 'admin.login_failed'; user: string; code: string } & ClientFields)
  | ({ type: 'admin.logged_out'; admin: string } & ClientFields)
  | ({ type: 'admin.refused'; admin: string; role: string; action: string } & ClientFields)
  | ({ type: 'audit.exported'; by: string; format: string; records: number; filter: string } & ClientFields)
  /** A search of the trail that showed records (console, API, `audit query`): who read what; `filter` as JSON. */
  | ({ type: 'audit.queried'; by: string; records: number; filter: string } & ClientFields)
  // The audit trail itself: a torn last line found at start (a crash while writing).
  | { type: 'audit.recovered'; torn_file: string; torn_line: number; torn_bytes: number; torn_sha256: string }
  // The trail found at start not to end where its checkpoint says (cut, altered, or the checkpoint gone):
  // what was found, so that the evidence outlives the checkpoint the writer goes on to replace.
  | { type: 'audit.mismatch'; problem: string; last_seq: number; last_sha256: string; checkpoint_seq?: number; checkpoint_sha256?: string }
  /**
   * audit.hmac_key set on a trail written without it: the first record the key seals. Its seal
   * covers its `prev`, the SHA-256 of record `unsealed_seq`, and so the whole unsealed chain
   * before it; every record after it must be sealed.
   */
  | { type: 'audit.sealed'; unsealed_seq: number; unsealed_sha256: string }
  /**
   * Retention: the daily files before `before` moved to `archive`. The first record kept
   * chains to `last_sha256`, so `audit verify` accepts a trail starting at `last_seq` + 1.
   */
  | { type: 'audit.pruned'; by: string; before: string; archive: string; files: string[]; records: number; first_seq: number; last_seq: number; last_sha256: string };

export type AuditEventType = AuditEvent['type'];

/** Whether a record says something went right or was refused / failed: what `audit query --outcome` filters on. */
export type AuditOutcome = 'success' | 'failure' | 'info';

/** The outcome of each event type; router.notified depends on its result. */
export function outcomeOf(event: AuditEvent): AuditOutcome {
  switch (event.type) {
    case 'login.failed':
    case 'login.throttled':
    case 'admin.login_failed':
    case 'admin.refused':
    case 'device.refused':
    case 'radius.rejected':
    case 'eap.rejected':
    case 'config.reload_failed':
      return 'failure';
    case 'router.notified':
      return event.result === 'ack' ? 'success' : 'failure';
    case 'gateway.started':
    case 'gateway.stopped':
    case 'config.loaded':
    case 'session.expired':
    case 'accounting.started':
    case 'accounting.stopped':
    case 'audit.recovered':
    case 'audit.exported':
    case 'audit.queried':
    case 'audit.sealed':
    case 'audit.pruned':
      return 'info';
    case 'audit.mismatch':
      return 'failure';
    default:
      return 'success';
  }
}

/** Every event type, for validating `--type` filters; a Record so the compiler insists on each member of the union. */
const EVENT_TYPES: Record<AuditEventType, true> = {
  'gateway.started': true,
  'gateway.stopped': true,
  'config.loaded': true,
  'config.reloaded': true,
  'config.reload_failed': true,
  'login.succeeded': true,
  'login.failed': true,
  'login.throttled': true,
  'my_devices.opened': true,
  'device.enrolled': true,
  'device.refused': true,
  'terms.accepted': true,
  'device.unenrolled': true,
  'device.renamed': true,
  'device.blocked': true,
  'device.unblocked': true,
  'profile.downloaded': true,
  'certificate.issued': true,
  'certificate.revoked': true,
  'session.issued': true,
  'session.revoked': true,
  'session.expired': true,
  'radius.accepted': true,
  'radius.rejected': true,
  'eap.accepted': true,
  'eap.rejected': true,
  'accounting.started': true,
  'accounting.stopped': true,
  'router.notified': true,
  'user.added': true,
  'user.password_changed': true,
  'user.removed': true,
  'admin.logged_in': true,
  'admin.login_failed': true,
  'admin.logged_out': true,
  'admin.refused': true,
  'audit.exported': true,
  'audit.queried': true,
  'audit.recovered': true,
  'audit.mismatch': true,
  'audit.sealed': true,
  'audit.pruned': true,
};

export const AUDIT_EVENT_TYPES = Object.keys(EVENT_TYPES) as readonly AuditEventType[];

/** Where audit events go. `record` returns at once and never throws: the trail must not break what it watches. */
export interface AuditTrail {
  /** Appends the event (stamped with the time and chained) to the trail. */
  record(event: AuditEvent): void;
}

/** A trail that keeps nothing (for code paths built without one, such as unit tests). */
export const noAudit: AuditTrail = { record: () => {} };
