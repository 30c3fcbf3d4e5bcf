/**
 * Building what the gateway runs from a config, shared by the processes that run it: the
 * gateway's main process (main.ts), its RADIUS worker processes (radius-worker.ts) and the
 * command line (check-config reads the materials). What the command line needs to act on
 * sessions is in session-wiring.ts. Nothing here opens a port.
 */
import { constants as tlsConstants } from 'node:crypto';
import { createHash, hkdfSync, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AccountingStore } from './accounting/accounting-store.js';
import type { AuditTrail } from './audit/events.js';
import type { Clock } from './clock.js';
import { listed, type Config } from './config/load.js';
import type { Directory, MsChapV2Attempt, SteppedDirectory } from './directory/directory.js';
import { Authenticator } from './directory/authenticator.js';
import { FileDirectory } from './directory/file-directory.js';
import { LoginThrottle } from './directory/login-throttle.js';
import type { Mac } from './mac.js';
import { LdapDirectory } from './directory/ldap-directory.js';
import { storeCallWithin, withStoreDeadline } from './deadline.js';
import { ConfigError, InvalidCredentialsError, NotAllowedError } from './errors.js';
import type { Device } from './devices/device.js';
import type { Session } from './sessions/session.js';
import { fingerprintSha256 } from './pki/ca.js';
import type { AgentInfo } from './portal/deps.js';
import { darkAccentFor } from './config/accent-colour.js';
import { accentStyle, checkLogo, parseTerms, type Logo, type PortalBranding, type Terms } from './portal/branding.js';
import { DeviceRegistry } from './devices/device-registry.js';
import { completePendingEnrollment } from './devices/enrollment-service.js';
import { LoginTokenStore } from './devices/login-token-store.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { PortalUrls } from './portal/urls.js';
import { loadLanguages, type Languages } from './portal/languages/languages.js';
import { NasTable } from './radius/clients.js';
import { RecentAccessRequests } from './radius/recent-access-requests.js';
import type { RecentDrops } from './radius/recent-drops.js';
import type { Port } from './radius/request.js';
import { RadiusServer } from './radius/server.js';
import { SharedDuplicateCache } from './radius/shared-duplicate-cache.js';
import { TlsSessionCache } from './radius/eap/session-cache.js';
import { SessionService } from './sessions/session-service.js';
import { accessSettings, sessionSettings } from './session-wiring.js';
import type { StateStore } from './store/state-store.js';

/**
 * Wires the RADIUS server on a store: shared by the main process (radius.workers: 1)
 * and each RADIUS worker process (radius-worker.ts).
 */
export function buildRadiusServer(
  config: Config,
  deps: {
    store: StateStore;
    metrics: Metrics;
    clock: Clock;
    log: Logger;
    accessRequests: RecentAccessRequests;
    audit: AuditTrail;
    /** Where the last drops are kept for the console: the main process's ring, or a worker's forwarder to it. */
    drops?: Pick<RecentDrops, 'add'>;
    serve?: Port | 'both';
    /** The process's own, where it has them (the main process): RADIUS only reads sessions. */
    nas?: NasTable;
    sessions?: SessionService;
    /** 802.1X renews the morning's session after checking the owner here (eap.next_morning renew). */
    directory?: Directory;
    /** This process's index among RADIUS workers (0 in one process). */
    workerIndex?: number;
    /** In a RADIUS worker: sends an EAP request on to the worker that owns its conversation. */
    forward?: ConstructorParameters<typeof RadiusServer>[0]['forward'];
    /** In a RADIUS worker: the EAP files as the main process read them at start (else read now). */
    eapFiles?: EapFiles;
  },
): RadiusServer {
  const { store, metrics, clock, log, accessRequests, audit, serve } = deps;
  const sessions = deps.sessions ?? new SessionService(sessionSettings(config, store, clock, log));
  // What a pending enrollment needs when its token is redeemed (the router proves the device
  // then). Its session is not told to the router: the router is asking for it right now.
  const recorder = {
    devices: new DeviceRegistry(store.kv, store.withLock),
    sessions: new SessionService({ ...sessionSettings(config, store, clock, log), audit }),
    metrics,
    clock,
    log,
    audit,
  };
  return new RadiusServer({
    host: config.radius.host,
    authPort: config.radius.auth_port,
    acctPort: config.radius.acct_port,
    nas: deps.nas ?? new NasTable(config.radius.clients),
    sessions,
    accounting: AccountingStore.on(store),
    accessRequests,
    loginTokens: new LoginTokenStore(store.kv.tokens),
    completeEnrollment: (token) => (token.enroll ? completePendingEnrollment(recorder, { mac: token.mac, user: token.user, enroll: token.enroll }) : Promise.resolve(null)),
    metrics,
    clock,
    log,
    ...accessSettings(config),
    audit,
    ...(deps.drops ? { drops: deps.drops } : {}),
    maxInFlight: config.radius.max_in_flight,
    ...(config.radius.shared_retransmission_cache && store.sharedCache ? { duplicates: new SharedDuplicateCache(store.sharedCache, config.radius.store_deadline_ms) } : {}),
    storeFailure: { deadlineMs: config.radius.store_deadline_ms, mode: config.radius.fail_mode, openMaxAgeMs: config.radius.fail_open_max_age_seconds * 1000 },
    ...(serve ? { serve } : {}),
    ...(deps.forward ? { forward: deps.forward } : {}),
    ...(config.eap.enabled
      ? {
          eap: eapOptions(
            config,
            recorder,
            // TTLS and PEAP check passwords through the portal's throttle (kept in the store, so shared with it).
            // Its store calls, like every other of RADIUS, are waited for radius.store_deadline_ms at most.
            deps.directory
              ? {
                  directory: deps.directory,
                  authenticator: new Authenticator({ directory: deps.directory, throttle: new LoginThrottle(store.kv.throttle, { clock, audit, storeDeadlineMs: config.radius.store_deadline_ms }) }),
                }
              : undefined,
            deps.workerIndex ?? 0,
            deps.eapFiles ?? readEapFiles(config),
            { kv: store.kv.tls_sessions, log },
          ),
        }
      : {}),
  });
}

/**
 * The keys of the TLS session tickets that let a device resume (eap.resumption_minutes):
 * the same in every RADIUS worker and every gateway sharing the CA, so a device may
 * resume wherever its next attempt lands, and new each day (UTC), so a stolen key
 * opens at most a day of tickets. Derived from the CA key (HKDF-SHA-256), which all of
 * them hold already.
 */
function eapTicketKeys(caKey: Buffer, day: string): Buffer {
  return Buffer.from(hkdfSync('sha256', caKey, day, 'enrollgate eap session tickets', 48));
}

function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/** The files the EAP server is built from (eap.enabled): its certificate and key, our CA, and the CA's key for resumption. */
export interface EapFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly caPem: Buffer;
  readonly caKey?: Buffer;
}

/**
 * Reads the EAP server's files. With RADIUS workers the main process reads them once, at
 * start, and hands them to each worker: one restarted after a crash serves what its siblings
 * serve, not the files as they are by then (a renewal half done, a CA being replaced).
 */
export function readEapFiles(config: Config): EapFiles {
  const e = config.eap;
  return {
    cert: readRequired(e.cert_file, 'eap.cert_file'),
    key: readRequired(e.key_file, 'eap.key_file'),
    caPem: readRequired(config.pki.ca_cert_file, 'pki.ca_cert_file'),
    ...(e.resumption_minutes > 0 ? { caKey: readRequired(config.pki.ca_key_file, 'pki.ca_key_file') } : {}),
  };
}

/**
 * 802.1X: the EAP server's TLS (its certificate and key, our CA as the one client
 * certificates must come from, the TLS versions) and the device checks. Built when the
 * server is, so a missing or mismatched file stops the start with its key's name.
 */
function eapOptions(
  config: Config,
  recorder: { devices: DeviceRegistry; sessions: SessionService },
  people: { directory: Directory; authenticator: Authenticator } | undefined,
  owner: number,
  files: EapFiles,
  sessionStore: { kv: StateStore['kv']['tls_sessions']; log: Logger },
): NonNullable<ConstructorParameters<typeof RadiusServer>[0]['eap']> {
  const e = config.eap;
  const { cert, key, caPem, caKey } = files;
  const contextFor = (day: string): SecureContext => {
    try {
      return createSecureContext({
        cert,
        key,
        // No `ca`: OpenSSL would then send our root after the server's certificate (it builds
        // the chain from the trust store), 1.4 kB more on every handshake and a fragment
        // or two more, for an anchor every device already holds. Client certificates are
        // checked against the CA by device-certificate.ts, not by OpenSSL.
        minVersion: `TLSv${e.tls_min_version}`,
        maxVersion: `TLSv${e.tls_max_version}`,
        // OpenSSL resumes no session of a server that checks client certificates without one.
        sessionIdContext: 'enrollgate-eap',
        ...(caKey ? { sessionTimeout: e.resumption_minutes * 60, ticketKeys: eapTicketKeys(caKey, day) } : { secureOptions: tlsConstants.SSL_OP_NO_TICKET }),
      });
    } catch (err) {
      throw new ConfigError(`eap.cert_file / eap.key_file: ${e.cert_file} and ${e.key_file} cannot serve TLS (${(err as Error).message})`, [], { cause: err });
    }
  };
  // A new context (new ticket keys) when the UTC day changes; built now, so a bad file stops the start.
  let current = { day: utcDay(new Date()), context: contextFor(utcDay(new Date())) };
  const tls = (): SecureContext => {
    const day = utcDay(new Date());
    if (day !== current.day) current = { day, context: contextFor(day) };
    return current.context;
  };
  // 802.1X never waits for the store longer than MAC authentication does: past the
  // deadline the store counts as unavailable and the conversation ends in a Reject
  // (eap/authorize.ts), whatever radius.fail_mode says (a revocation must never be skipped).
  // Without it, a store that hangs would hold every EAP request that reads it, and fill
  // radius.max_in_flight until MAC authentication too was dropped as overload.
  const storeMs = config.radius.store_deadline_ms;
  const devices = recorder.devices;
  const directory = people?.directory;
  const renew = directory
    ? async (device: Device): Promise<{ session: Session } | { refused: string }> => {
        try {
          await directory.lookup(device.owner);
        } catch (err) {
          if (err instanceof InvalidCredentialsError) return { refused: 'the owner is no longer in the directory' };
          if (err instanceof NotAllowedError) return { refused: 'the owner is no longer in the required group' };
          return { refused: `the directory did not answer (${(err as Error).message})` };
        }
        return { session: await withStoreDeadline(recorder.sessions.issue(device.mac, device.owner, 'renewal'), storeMs) };
      }
    : undefined;
  return {
    settings: {
      enabled: true,
      methods: e.methods,
      fragmentSize: e.fragment_size,
      conversationTimeoutMs: e.conversation_timeout_seconds * 1000,
      maxConversations: e.max_conversations,
      maxConversationsPerNas: e.max_conversations_per_nas,
    },
    tls,
    // TLS 1.2 sessions by ID, shared through the store; as many per process as conversations, at least 1,000.
    ...(caKey
      ? { tlsSessions: new TlsSessionCache({ ...sessionStore, caKey, lifetimeMs: e.resumption_minutes * 60_000, maxSessions: Math.max(1000, e.max_conversations), deadlineMs: storeMs }) }
      : {}),
    authorization: {
      ca: new X509Certificate(caPem),
      devices: {
        get: storeCallWithin(storeMs, (mac: Mac) => devices.get(mac)),
        blocked: storeCallWithin(storeMs, (mac: Mac) => devices.blocked(mac)),
        listByOwner: storeCallWithin(storeMs, (owner: string) => devices.listByOwner(owner)),
        revocations: { status: storeCallWithin(storeMs, (serial: string) => devices.revocations.status(serial)) },
      },
      live: (mac) => withStoreDeadline(recorder.sessions.live(mac), storeMs),
      nextMorning: e.next_morning,
      ...(renew ? { renew } : {}),
      ...(people
        ? {
            authenticate: (username: string, password: string, from: string | undefined) => people.authenticator.authenticate(username, password, from),
            verifyMsChapV2: (attempt: MsChapV2Attempt, from: string | undefined) => people.authenticator.verifyMsChapV2(attempt, from),
            issue: storeCallWithin(storeMs, (mac: Mac, user: string) => recorder.sessions.issue(mac, user, 'login')),
          }
        : {}),
    },
    owner,
  };
}

/** The files the gateway needs, read before any port opens. */
export interface Materials {
  readonly tls: { readonly cert: Buffer; readonly key: Buffer };
  readonly caPem: string;
  /** The CA to trust for the LDAP server's certificate, when configured. */
  readonly ldapCa?: Buffer;
  readonly agent?: AgentInfo;
  /** With EAP-TLS on (eap.enabled, method tls): the DNS name in the EAP server's certificate, which devices pin. */
  readonly eapServerName?: string;
  /** portal.branding and portal.terms, read and checked. */
  readonly branding: PortalBranding;
  /** The employee pages' catalogs: the shipped ones with portal.languages.dir's over them. */
  readonly languages: Languages;
  /** What check-config and start tell the admin about the catalogs (an added language's missing keys). */
  readonly languageWarnings: readonly string[];
}

/** The shipped catalogs of the employee pages' words. */
export const LOCALES_DIR = fileURLToPath(new URL('../views/locales/', import.meta.url));

/** Where a missing file comes from, for its message: init makes most; the LDAP CA and the agent are the admin's. */
function missingHint(key: string): string {
  if (key === 'directory.ldap.ca_file') return 'put there the PEM certificate of the CA that signed the directory\'s TLS certificate (init does not create it), or fix the path';
  if (key === 'directory.file.path') return 'run `enrollgate users add NAME` to create it, or fix the path';
  if (key === 'portal.branding.logo_file' || key === 'portal.terms.file') return 'put the file there (init does not create it), or fix the path';
  return 'run `enrollgate init` or fix the path';
}

function readRequired(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${missingHint(key)}`);
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Reads certificates and the agent file. Every file is tried, and every problem, each
 * naming its key, is in the one ConfigError thrown at the end (`problems`).
 */
export async function readMaterials(config: Config): Promise<Materials> {
  const problems: string[] = [];
  const read = (path: string, key: string): Buffer | undefined => {
    try {
      return readFileSync(path);
    } catch (err) {
      problems.push(`${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${missingHint(key)}`);
      return undefined;
    }
  };
  const cert = read(config.portal.https.cert_file, 'portal.https.cert_file');
  const key = read(config.portal.https.key_file, 'portal.https.key_file');
  const caPem = read(config.pki.ca_cert_file, 'pki.ca_cert_file')?.toString('utf8');
  if (caPem !== undefined) {
    try {
      fingerprintSha256(caPem);
    } catch (err) {
      problems.push(`pki.ca_cert_file: ${config.pki.ca_cert_file} is not a PEM certificate (${(err as Error).message})`);
    }
  }
  const ldapCa = config.directory.kind === 'ldap' && config.directory.ldap?.ca_file ? read(config.directory.ldap.ca_file, 'directory.ldap.ca_file') : undefined;
  if (config.directory.kind === 'file') read(config.directory.file.path, 'directory.file.path');
  let eapName: string | undefined;
  if (config.eap.enabled && config.eap.methods.includes('tls')) {
    const pem = read(config.eap.cert_file, 'eap.cert_file');
    try {
      if (pem !== undefined) eapName = eapServerNameOf(pem, config.eap.cert_file);
    } catch (err) {
      problems.push((err as ConfigError).message);
    }
  }
  const branding = readBranding(config, read, problems);
  const loaded = loadLanguages(LOCALES_DIR, config.portal.languages);
  problems.push(...loaded.problems);
  const a = config.android.agent;
  let agentSize: number | undefined;
  if (a?.file) {
    try {
      agentSize = statSync(a.file).size;
    } catch (err) {
      problems.push(`android.agent.file: cannot read ${a.file} (${(err as NodeJS.ErrnoException).code})`);
    }
  }
  if (problems.length > 0 || cert === undefined || key === undefined || caPem === undefined || loaded.languages === undefined) {
    throw new ConfigError(problems.length === 1 ? problems[0]! : `invalid configuration:${listed(problems)}`, problems);
  }
  const base = { tls: { cert, key }, caPem, branding, languages: loaded.languages, languageWarnings: loaded.warnings, ...(ldapCa ? { ldapCa } : {}), ...(eapName ? { eapServerName: eapName } : {}) };
  if (!a) return base;
  const urls = new PortalUrls(config.portal.base_url);
  if (a.file && agentSize !== undefined) {
    const name = basename(a.file).replace(/[^A-Za-z0-9._-]/g, '_');
    const agent: AgentInfo = { name: a.name, version: a.version, url: urls.route('portal.agent', { file: name }), sizeBytes: agentSize, sha256: await sha256File(a.file), file: { path: a.file, name } };
    return { ...base, agent };
  }
  const agent: AgentInfo = {
    name: a.name,
    version: a.version,
    url: a.url!,
    ...(a.size_bytes !== undefined ? { sizeBytes: a.size_bytes } : {}),
    ...(a.sha256 ? { sha256: a.sha256.toLowerCase() } : {}),
  };
  return { ...base, agent };
}

/** portal.branding and portal.terms from their files; each problem, naming its key, goes to `problems`. */
function readBranding(config: Config, read: (path: string, key: string) => Buffer | undefined, problems: string[]): PortalBranding {
  const b = config.portal.branding;
  const t = config.portal.terms;
  let logo: Logo | undefined;
  if (b?.logo_file) {
    const bytes = read(b.logo_file, 'portal.branding.logo_file');
    const checked = bytes && checkLogo(bytes, b.logo_file);
    if (typeof checked === 'string') problems.push(`portal.branding.logo_file: ${checked}`);
    else logo = checked;
  }
  let terms: Terms | undefined;
  if (t) {
    const bytes = read(t.file, 'portal.terms.file');
    const parsed = bytes && parseTerms(bytes, t.file, t.title, t.version);
    if (typeof parsed === 'string') problems.push(`portal.terms.file: ${parsed}`);
    else terms = parsed;
  }
  // The schema checked the colours; a dark accent is derived where none is set.
  const light = b?.accent_colour;
  const style = light ? accentStyle(light, b?.accent_colour_dark ?? darkAccentFor(light) ?? light) : undefined;
  return { ...(style ? { style } : {}), ...(logo ? { logo } : {}), ...(terms ? { terms } : {}) };
}

/** The first DNS name of the EAP server's certificate (what `init` issues it for). */
function eapServerNameOf(pem: Buffer, path: string): string {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(`eap.cert_file: ${path} is not a PEM certificate (${(err as Error).message})`);
  }
  const name = /(?:^|, )DNS:([^,]+)/.exec(x509.subjectAltName ?? '')?.[1];
  if (name === undefined) throw new ConfigError(`eap.cert_file: ${path} names no DNS name (subjectAltName), which devices would pin`);
  return name;
}

/** The configured directory (the users file or LDAP), not yet asked anything. */
export function createDirectory(config: Config, materials: Pick<Materials, 'ldapCa'>, log: Logger): SteppedDirectory {
  const d = config.directory;
  if (d.kind === 'file' || !d.ldap) {
    return new FileDirectory(d.file.path, d.file.required_group ? { requiredGroup: d.file.required_group } : {});
  }
  const l = d.ldap;
  return new LdapDirectory(
    {
      url: l.url,
      startTls: l.start_tls,
      ...(materials.ldapCa ? { ca: materials.ldapCa } : {}),
      bindDn: l.bind_dn,
      bindPassword: l.bind_password,
      baseDn: l.base_dn,
      userAttribute: l.user_attribute,
      displayNameAttribute: l.display_name_attribute,
      ...(l.required_group ? { requiredGroup: l.required_group } : {}),
      timeoutMs: l.timeout_ms,
      connectTimeoutMs: l.connect_timeout_ms,
    },
    log,
  );
}
