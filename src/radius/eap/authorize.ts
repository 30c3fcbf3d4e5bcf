import type { X509Certificate } from 'node:crypto';
import type { Device } from '../../devices/device.js';
import type { BlockEntry } from '../../devices/device-registry.js';
import { sameUser } from '../../devices/device-registry.js';
import type { DirectoryUser, MsChapV2Attempt, MsChapV2Proof } from '../../directory/directory.js';
import { InvalidCredentialsError, NoNtHashError, NotAllowedError, StoreUnavailableError, TooManyAttemptsError } from '../../errors.js';
import type { Mac } from '../../mac.js';
import type { Maybe } from '../../maybe.js';
import type { Session } from '../../sessions/session.js';
import type { NasClient } from '../clients.js';
import { decideAccess, type AccessContext, type AccessDecision } from '../policy.js';
import type { CertificateCheck, CertificateProblem } from './device-certificate.js';

/**
 * The 802.1X decision (issue 16's table), keyed by the identity EAP proved instead of
 * a MAC: the device a certificate names, and then the same table as MAC
 * authentication (policy.ts). A randomised MAC makes no difference here.
 * - enrolled, unblocked, the certificate its current one, a live session: accept;
 * - enrolled, no session (the next morning): eap.next_morning renew checks the owner
 *   in the directory and issues a session; daily_login answers what the NAS does for
 *   a device without a session (registration VLAN, redirect, role, or reject);
 * - anything else: reject, with the reason for the audit trail.
 */
export interface EapDevices {
  get(mac: Mac): Promise<Device | undefined>;
  /** The revocation list (pki/revocation-list.ts): an entry when the serial is revoked. */
  readonly revocations: { status(serial: string): Promise<{ reason?: unknown } | undefined> };
  blocked(mac: Mac): Promise<BlockEntry | undefined>;
  listByOwner(owner: string): Promise<Device[]>;
}

export interface EapAuthorizationDeps {
  /** The gateway's CA: the anchor of every device certificate. */
  ca: X509Certificate;
  devices: EapDevices;
  live(mac: Mac): Maybe<Session | undefined>;
  nextMorning: 'renew' | 'daily_login';
  /**
   * eap.next_morning renew: checks the owner in the directory and issues a session, or
   * says why not. Without it, renewal is refused.
   */
  renew?(device: Device): Promise<{ session: Session } | { refused: string }>;
  /**
   * EAP-TTLS: checks a username and password through the portal's throttle and the
   * directory (directory/authenticator.ts), from the station (the throttle's address).
   * Throws as Authenticator.authenticate does. Without it, TTLS is refused.
   */
  authenticate?(username: string, password: string, from: string | undefined): Promise<DirectoryUser>;
  /**
   * PEAP: checks an MSCHAPv2 response through the same throttle (a wrong response is a
   * wrong password), where the directory keeps NT hashes (the users file). Throws as
   * Authenticator.verifyMsChapV2 does. Without it, PEAP is refused.
   */
  verifyMsChapV2?(attempt: MsChapV2Attempt, from: string | undefined): Promise<MsChapV2Proof>;
  /** Issues the station's session after a TTLS or PEAP login (the person just proved the password, as at the portal's daily login). */
  issue?(mac: Mac, user: string): Promise<Session>;
}

export type EapAuthorization =
  | { ok: true; decision: AccessDecision; serial?: string; user: string; mac: Mac }
  | { ok: false; reason: string; code: string; serial?: string; user?: string; mac?: Mac };

/** EAP-TLS: the device certificate's own check (device-certificate.ts, at context.now), then the store's word on the device it names. */
export async function authorizeCertificate(
  deps: EapAuthorizationDeps,
  check: CertificateCheck,
  nas: NasClient,
  context: AccessContext,
): Promise<EapAuthorization> {
  if (!check.ok) return { ok: false, code: check.reason, reason: CERTIFICATE_REASONS[check.reason], ...(check.serial ? { serial: check.serial } : {}) };
  const who = { serial: check.serial, mac: check.mac, user: check.user };
  return failClosed(certificateDecision(deps, who, nas, context), who);
}

/** A certificate of our CA, naming a device: the block list, the CRL, the enrollment, then the session. */
async function certificateDecision(deps: EapAuthorizationDeps, who: { serial: string; mac: Mac; user: string }, nas: NasClient, context: AccessContext): Promise<EapAuthorization> {
  const { mac, serial, user } = who;
  // The block list first (it says the most), then the CRL's own list: whatever else the store says, a revoked certificate is refused.
  if (await deps.devices.blocked(mac)) return { ok: false, code: 'device_blocked', reason: 'the device is blocked', ...who };
  if (await deps.devices.revocations.status(serial)) return { ok: false, code: 'certificate_revoked', reason: 'the certificate is revoked', ...who };
  const device = await deps.devices.get(mac);
  if (!device) return { ok: false, code: 'device_not_enrolled', reason: 'the certificate names a device that is not enrolled', ...who };
  if (!device.certificateSerials?.includes(serial)) {
    return { ok: false, code: 'certificate_revoked', reason: "the certificate is not one issued for this device's enrollment (revoked, or replaced by a newer one)", ...who };
  }
  if (!sameUser(device.owner, user)) return { ok: false, code: 'owner_mismatch', reason: "the certificate's owner is not the device's owner", ...who };
  return decideForDevice(deps, device, nas, context, who);
}

/** An enrolled, unblocked device: its session decides, as for MAC authentication. */
async function decideForDevice(
  deps: EapAuthorizationDeps,
  device: Device,
  nas: NasClient,
  context: AccessContext,
  who: { serial?: string; mac: Mac; user: string },
): Promise<EapAuthorization> {
  const session = await deps.live(device.mac);
  if (session) return { ok: true, decision: decideAccess(device.mac, session, nas, context), ...who };
  if (deps.nextMorning === 'renew') {
    if (!deps.renew) return { ok: false, code: 'no_session', reason: 'no session, and renewal is not available here', ...who };
    const renewed = await deps.renew(device);
    if ('refused' in renewed) return { ok: false, code: 'renewal_refused', reason: `no session, and the owner could not be renewed: ${renewed.refused}`, ...who };
    return { ok: true, decision: { ...decideAccess(device.mac, renewed.session, nas, context), reason: 'session renewed' }, ...who };
  }
  const decision = decideAccess(device.mac, undefined, nas, context);
  if (decision.outcome === 'reject') return { ok: false, code: 'no_session', reason: 'no session today (eap.next_morning daily_login), and this NAS has no registration state', ...who };
  return { ok: true, decision, ...who };
}

/**
 * EAP-TTLS with PAP: the person's username and password, checked through the portal's
 * throttle; then authorizePerson's table.
 */
export function authorizeCredentials(
  deps: EapAuthorizationDeps,
  credentials: { username: string; password: string },
  station: Mac | undefined,
  nas: NasClient,
  context: AccessContext,
): Promise<EapAuthorization> {
  const authenticate = deps.authenticate;
  if (!authenticate) return Promise.resolve({ ok: false, code: 'ttls_unavailable', reason: 'password checks are not available here', user: credentials.username });
  return authorizePerson(deps, { claimed: credentials.username, prove: (from) => authenticate(credentials.username, credentials.password, from) }, station, nas, context);
}

/**
 * PEAP with MSCHAPv2: the person's MSCHAPv2 response, checked against the NT hash
 * through the portal's throttle; then authorizePerson's table. On success, also the
 * authenticator response the peer expects in MSCHAPv2's Success.
 */
export async function authorizeMsChapV2(
  deps: EapAuthorizationDeps,
  attempt: MsChapV2Attempt,
  station: Mac | undefined,
  nas: NasClient,
  context: AccessContext,
): Promise<EapAuthorization & { authenticatorResponse?: string }> {
  const verify = deps.verifyMsChapV2;
  if (!verify) return { ok: false, code: 'peap_unavailable', reason: 'MSCHAPv2 checks are not available here', user: attempt.userName };
  let proof: MsChapV2Proof | undefined;
  const a = await authorizePerson(
    deps,
    {
      claimed: attempt.userName,
      prove: async (from) => {
        proof = await verify(attempt, from);
        return proof.user;
      },
    },
    station,
    nas,
    context,
  );
  return a.ok && proof ? { ...a, authenticatorResponse: proof.authenticatorResponse } : a;
}

/**
 * EAP-TTLS and PEAP prove a person, not a device: the station is whatever MAC the
 * device uses on this SSID (often a private one, not the one it enrolled with on the
 * onboarding network). So: the person's credentials (`prove`, throttled like the
 * portal), the person must have enrolled at least one device, the station must not be
 * blocked nor enrolled to somebody else; then the station gets a session until the
 * cut-off.
 */
async function authorizePerson(
  deps: EapAuthorizationDeps,
  credentials: { claimed: string; prove: (from: Mac) => Promise<DirectoryUser> },
  station: Mac | undefined,
  nas: NasClient,
  context: AccessContext,
): Promise<EapAuthorization> {
  const issue = deps.issue;
  if (!issue) return { ok: false, code: 'sessions_unavailable', reason: 'sessions cannot be issued here', user: credentials.claimed };
  if (!station) return { ok: false, code: 'no_station', reason: 'the request names no device (Calling-Station-Id)', user: credentials.claimed };
  let user: DirectoryUser;
  try {
    user = await credentials.prove(station);
  } catch (err) {
    const [code, reason] =
      err instanceof InvalidCredentialsError ? ['wrong_password', 'wrong username or password']
      : err instanceof NotAllowedError ? ['not_allowed', 'the person is not allowed on the Wi-Fi (required group)']
      : err instanceof TooManyAttemptsError ? ['throttled', 'too many wrong passwords: locked for a while']
      : err instanceof NoNtHashError ? ['no_nt_hash', "the directory keeps no NT hash for this person (the users file's nt_hash), which PEAP's MSCHAPv2 needs"]
      : err instanceof StoreUnavailableError ? ['store_unavailable', `the state store is unavailable (${err.message})`]
      : ['directory_unavailable', `the directory did not answer (${(err as Error).message})`];
    return { ok: false, code, reason, user: credentials.claimed, mac: station };
  }
  const who = { user: user.username, mac: station };
  return failClosed(personDecision(deps, issue, user, station, nas, context), who);
}

/** A person who proved the password, at a station: the block list, the enrollments, then the session. */
async function personDecision(
  deps: EapAuthorizationDeps,
  issue: NonNullable<EapAuthorizationDeps['issue']>,
  user: DirectoryUser,
  station: Mac,
  nas: NasClient,
  context: AccessContext,
): Promise<EapAuthorization> {
  const who = { user: user.username, mac: station };
  if (await deps.devices.blocked(station)) return { ok: false, code: 'device_blocked', reason: 'the device is blocked', ...who };
  const device = await deps.devices.get(station);
  if (device && !sameUser(device.owner, user.username)) return { ok: false, code: 'owner_mismatch', reason: 'the device is enrolled to somebody else', ...who };
  if (!device && (await deps.devices.listByOwner(user.username)).length === 0) {
    return { ok: false, code: 'not_onboarded', reason: 'the person has enrolled no device at the portal yet', ...who };
  }
  const live = await deps.live(station);
  const session = live && sameUser(live.user, user.username) ? live : await issue(station, user.username);
  return { ok: true, decision: { ...decideAccess(station, session, nas, context), user: user.username }, ...who };
}

/**
 * The store failed, or did not answer within radius.store_deadline_ms (wiring.ts): a
 * Reject, whatever radius.fail_mode says. Unlike MAC authentication, 802.1X keeps no
 * remembered sessions to fall back on, and a revocation must never be skipped.
 */
async function failClosed(decision: Promise<EapAuthorization>, who: { serial?: string; mac: Mac; user: string }): Promise<EapAuthorization> {
  try {
    return await decision;
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    return { ok: false, code: 'store_unavailable', reason: `the state store is unavailable (${err.message})`, ...who };
  }
}

const CERTIFICATE_REASONS: Readonly<Record<CertificateProblem, string>> = {
  no_certificate: 'the device sent no certificate',
  foreign_ca: "the certificate was not issued by the gateway's CA",
  expired: 'the certificate has expired',
  not_yet_valid: 'the certificate is not valid yet',
  not_a_client_certificate: 'the certificate is not a TLS client certificate',
  no_device_name: 'the certificate names no device',
  unreadable_owner: "the certificate's owner URI is not a user name in percent-encoded UTF-8",
};
