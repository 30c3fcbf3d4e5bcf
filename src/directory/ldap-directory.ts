import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import {
  AndFilter,
  Client,
  EqualityFilter,
  InvalidCredentialsError as LdapInvalidCredentialsError,
  OrFilter,
  ResultCodeError,
  type Entry,
  type Filter,
} from 'ldapts';
import {
  ConfigError,
  DirectoryUnavailableError,
  GatewayError,
  InvalidCredentialsError,
  NotAllowedError,
} from '../errors.js';
import { withDeadline } from '../deadline.js';
import type { DirectoryUser, LoginStep, SteppedDirectory } from './directory.js';

export interface LdapDirectoryOptions {
  /** ldap://host:port or ldaps://host:port */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before any bind (not with ldaps://). */
  startTls: boolean;
  /** PEM CA bundle to trust for ldaps/StartTLS; certificate verification is never disabled. */
  ca?: Buffer;
  /** The service account that searches for users. */
  bindDn: string;
  bindPassword: string;
  /** Where users are searched (subtree). */
  baseDn: string;
  /** The attribute a person types as their username, e.g. 'uid' or 'sAMAccountName'. */
  userAttribute: string;
  /** An extra (objectClass=...) the user entry must have. */
  userObjectClass?: string;
  /** e.g. 'cn' or 'displayName'. */
  displayNameAttribute: string;
  /** A group DN the user must be a member of. */
  requiredGroup?: string;
  /** Per LDAP operation, in milliseconds. */
  timeoutMs: number;
  /** For the TCP (and TLS) connection, in milliseconds. */
  connectTimeoutMs: number;
}

/** What LdapDirectory logs through; pino's logger fits. */
export interface LdapDirectoryLog {
  warn(obj: object, msg: string): void;
}

const UNAVAILABLE = 'The directory is unavailable, please try again in a minute';

/**
 * People log in against an LDAP server (OpenLDAP, Active Directory, …): bind as
 * a service account, find the one entry whose userAttribute equals the
 * username, then bind as that entry with the password.
 *
 * Every authentication uses a fresh connection: ldapts silently reconnects a
 * dropped StartTLS client in cleartext, and a connection shared between logins
 * would carry one person's bind into another's request.
 */
export class LdapDirectory implements SteppedDirectory {
  readonly #options: Readonly<LdapDirectoryOptions>;
  readonly #log: LdapDirectoryLog | undefined;
  readonly #host: string;
  readonly #ldaps: boolean;

  constructor(options: LdapDirectoryOptions, log?: LdapDirectoryLog) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigError(`LDAP url ${JSON.stringify(options.url)}: not a URL`);
    }
    if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
      throw new ConfigError(`LDAP url ${options.url}: must start with ldap:// or ldaps://`);
    }
    if (options.startTls && url.protocol !== 'ldap:') {
      throw new ConfigError(`LDAP url ${options.url}: StartTLS is only for ldap:// (ldaps:// is TLS already)`);
    }
    // ldapts treats 0 as "wait forever": a dead directory would hang every login.
    for (const key of ['timeoutMs', 'connectTimeoutMs'] as const) {
      if (!Number.isFinite(options[key]) || options[key] <= 0) {
        throw new ConfigError(`LDAP ${key}: must be a positive number of milliseconds`);
      }
    }
    this.#options = Object.freeze({ ...options });
    this.#log = log;
    this.#host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.#ldaps = url.protocol === 'ldaps:';
    if (url.protocol === 'ldap:' && !options.startTls) {
      // WARNING: simple binds over plain ldap:// carry every password in clear.
      log?.warn({ url: options.url }, 'LDAP without TLS: passwords cross the network in clear; use ldaps:// or StartTLS');
    }
  }

  async authenticate(username: string, password: string): Promise<DirectoryUser> {
    return this.walk(username, password);
  }

  async lookup(username: string): Promise<DirectoryUser> {
    return this.walk(username, undefined);
  }

  /**
   * A login's steps: the service account binds, finds the one entry and checks the group;
   * with a password, the entry then binds with it. Without one this is lookup().
   */
  async walk(username: string, password: string | undefined, report?: (step: LoginStep) => void): Promise<DirectoryUser> {
    const name = username.trim();
    // An empty password is an unauthenticated bind (RFC 4513 §5.1.2) that many
    // servers answer with success: refuse it before anything touches the network.
    if (name === '' || password === '') throw new InvalidCredentialsError();
    const o = this.#options;

    return this.#withClient(async (client, steps) => {
      steps.begin('service account bind');
      await client.bind(o.bindDn, o.bindPassword);
      steps.pass(`bound as ${o.bindDn}`);
      steps.begin('user search');
      const entry = await this.#findUser(client, name).catch((err: unknown) => {
        if (err instanceof InvalidCredentialsError) steps.failed(`not found: no entry with ${o.userAttribute}=${name} under ${o.baseDn}`);
        throw err;
      });
      steps.pass(`found ${entry.dn}`);
      steps.begin('group check');
      // Decided while still bound as the service account (the user may not read groups).
      const allowed = await this.#isAllowed(client, entry);
      if (o.requiredGroup === undefined) steps.pass('no required_group configured');
      else if (allowed) steps.pass(`member of ${o.requiredGroup}`);
      else steps.failed(`not a member of required_group ${o.requiredGroup}`);
      // A login is told it is not allowed only after the password has been proven, so a
      // stranger does not learn that the name exists; a lookup is told at once.
      if (!allowed && password === undefined) throw new NotAllowedError();
      if (password !== undefined) {
        steps.begin('user bind');
        try {
          // The DN the server returned, never one built from input.
          await client.bind(entry.dn, password);
        } catch (err) {
          if (err instanceof LdapInvalidCredentialsError) throw new InvalidCredentialsError();
          throw err;
        }
        steps.pass('the password is right');
      }
      if (!allowed) throw new NotAllowedError();
      return this.#user(entry, name);
    }, report);
  }

  #user(entry: Entry, name: string): DirectoryUser {
    const canonical = values(entry, this.#options.userAttribute);
    const displayName = values(entry, this.#options.displayNameAttribute)[0];
    return {
      // A multi-valued uid: keep the value the person typed, in the directory's spelling.
      username: canonical.find((v) => v.toLowerCase() === name.toLowerCase()) ?? canonical[0] ?? name,
      ...(displayName === undefined ? {} : { displayName }),
      groups: values(entry, 'memberOf'),
    };
  }

  async ping(): Promise<void> {
    await this.#withClient(async (client, steps) => {
      steps.begin('service account bind');
      await client.bind(this.#options.bindDn, this.#options.bindPassword);
    });
  }

  async close(): Promise<void> {
    // Nothing to release: every call opens and closes its own connection.
  }

  /** Opens a connection (TLS-protected when configured), runs `work`, and always unbinds. */
  async #withClient<T>(work: (client: Client, steps: LoginSteps) => Promise<T>, report?: (step: LoginStep) => void): Promise<T> {
    const o = this.#options;
    const tlsOptions: ConnectionOptions = {
      ...(o.ca === undefined ? {} : { ca: o.ca }),
      // Verify the certificate against the host we dialled; SNI only takes names (RFC 6066 §3).
      host: this.#host,
      ...(isIP(this.#host) === 0 ? { servername: this.#host } : {}),
    };
    const client = new Client({
      url: o.url,
      timeout: o.timeoutMs,
      connectTimeout: o.connectTimeoutMs,
      // ldapts opens TLS straight away whenever tlsOptions is set, even for an
      // ldap:// URL: so only ldaps:// gets them here; StartTLS gets them below.
      ...(this.#ldaps ? { tlsOptions } : {}),
    });
    const steps = new LoginSteps(o.url, report);
    try {
      if (o.startTls) {
        steps.begin('StartTLS');
        // ldapts bounds the connect and the StartTLS request, not the TLS handshake after it.
        await withDeadline(client.startTLS(tlsOptions), o.connectTimeoutMs + 2 * o.timeoutMs, 'StartTLS timed out');
        steps.pass('TLS established');
      }
      return await work(client, steps);
    } catch (err) {
      const thrown = err instanceof GatewayError ? err : new DirectoryUnavailableError(`${UNAVAILABLE} (${describe(err, steps.current)}).`, { cause: err });
      steps.fail(err, thrown, client.isConnected);
      throw thrown;
    } finally {
      try {
        await client.unbind();
      } catch {
        // The answer is already decided; a failed unbind only means the socket is gone.
      }
    }
  }

  /** The one entry whose userAttribute equals `name`; InvalidCredentialsError when there is none. */
  async #findUser(client: Client, name: string): Promise<Entry> {
    const o = this.#options;
    // Filter objects are sent as BER values, so `*`, `(`, `)` and `\` in a username are literal.
    const filters: Filter[] = [new EqualityFilter({ attribute: o.userAttribute, value: name })];
    if (o.userObjectClass !== undefined) {
      filters.push(new EqualityFilter({ attribute: 'objectClass', value: o.userObjectClass }));
    }
    const { searchEntries } = await client.search(o.baseDn, {
      scope: 'sub',
      filter: new AndFilter({ filters }),
      attributes: [o.userAttribute, o.displayNameAttribute, 'memberOf'],
      // Two is enough to know the answer is not unique (ldapts returns them on sizeLimitExceeded).
      sizeLimit: 2,
      timeLimit: Math.max(1, Math.ceil(o.timeoutMs / 1000)),
    });
    if (searchEntries.length > 1) {
      this.#log?.warn(
        { username: name, baseDn: o.baseDn, userAttribute: o.userAttribute, dns: searchEntries.map((e) => e.dn) },
        'LDAP username is ambiguous: more than one entry matches; refusing the login',
      );
      throw new DirectoryUnavailableError(
        `The username is ambiguous in the directory (more than one entry has ${o.userAttribute}=${name}); ask IT to fix the directory.`,
      );
    }
    const entry = searchEntries[0];
    // Same answer as a wrong password: which usernames exist is not for a stranger to learn.
    if (entry === undefined) throw new InvalidCredentialsError();
    // A bind with an empty DN is anonymous and would succeed with any password.
    if (entry.dn.trim() === '') throw new DirectoryUnavailableError(`${UNAVAILABLE} (the user search returned an entry without a DN).`);
    return entry;
  }

  /** Whether the entry is in requiredGroup: its memberOf when the server keeps one, else the group's own member lists. */
  async #isAllowed(client: Client, entry: Entry): Promise<boolean> {
    const group = this.#options.requiredGroup;
    if (group === undefined) return true;
    const memberOf = values(entry, 'memberOf');
    if (memberOf.length > 0) {
      const wanted = normalizeDn(group);
      return memberOf.some((dn) => normalizeDn(dn) === wanted);
    }
    // No memberOf (no overlay, or groupOfUniqueNames): ask the group entry.
    // The server compares DNs with distinguishedNameMatch, so spelling does not matter here.
    const { searchEntries } = await client.search(group, {
      scope: 'base',
      filter: new OrFilter({
        filters: [
          new EqualityFilter({ attribute: 'member', value: entry.dn }),
          new EqualityFilter({ attribute: 'uniqueMember', value: entry.dn }),
        ],
      }),
      attributes: ['1.1'],
      sizeLimit: 1,
      timeLimit: Math.max(1, Math.ceil(this.#options.timeoutMs / 1000)),
    });
    return searchEntries.length > 0;
  }
}

/**
 * The step a walk is in, told to a report as each ends (`enrollgate test user`). Before
 * the first step passes the connection is told too: a failure with no connection made
 * is the server unreachable, whichever step was about to use it.
 */
class LoginSteps {
  current = 'connection';
  #connected = false;
  /** The step whose failure has been told already. */
  #toldFailure: string | undefined;

  constructor(
    private readonly url: string,
    private readonly report: ((step: LoginStep) => void) | undefined,
  ) {}

  begin(name: string): void {
    this.current = name;
  }

  pass(reason: string): void {
    this.#connectionMade();
    this.report?.({ step: this.current, ok: true, reason });
  }

  /** Tells that the current step failed and why, before the walk stops or goes on (the group check is told after the password). */
  failed(reason: string): void {
    this.#connectionMade();
    this.#toldFailure = this.current;
    this.report?.({ step: this.current, ok: false, reason });
  }

  /** The walk stopped on `err`, thrown on as `thrown`. */
  fail(err: unknown, thrown: GatewayError, connected: boolean): void {
    if (this.report === undefined) return;
    if (!this.#connected && !connected && !(err instanceof GatewayError)) {
      this.#connected = true;
      this.report({ step: 'connection', ok: false, reason: `${this.url} is unreachable (${describe(err, 'connection').replace(/^LDAP connection failed: /, '')})` });
      return;
    }
    this.#connectionMade();
    // Told already: by this step, or (a login refused after the password) by the group check.
    if (this.#toldFailure === this.current || (thrown instanceof NotAllowedError && this.#toldFailure !== undefined)) return;
    this.report({ step: this.current, ok: false, reason: stepFailure(this.current, err, thrown) });
  }

  #connectionMade(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.report?.({ step: 'connection', ok: true, reason: this.url });
  }
}

/** Why a step failed, in the words an admin acts on. */
function stepFailure(step: string, err: unknown, thrown: GatewayError): string {
  if (thrown instanceof InvalidCredentialsError) return 'wrong password: the directory refused the bind';
  if (step === 'service account bind' && err instanceof LdapInvalidCredentialsError) {
    return 'the directory refused the service account: wrong directory.ldap.bind_password (or bind_dn)';
  }
  return thrown.message;
}

/** The values of an attribute as strings, whatever case the server spelled its name in. */
function values(entry: Entry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === wanted);
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  const list: ReadonlyArray<string | Buffer> = Array.isArray(value) ? value : [value];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : v));
}

/**
 * A DN for comparison: lower case, no spaces around unescaped `,` `+` `=`.
 * Enough for memberOf values the server wrote itself; not a full RFC 4514 parser.
 */
function normalizeDn(dn: string): string {
  let out = '';
  let escaped = false;
  let skipSpaces = true;
  for (const ch of dn.trim().toLowerCase()) {
    if (escaped) {
      out += ch;
      escaped = false;
      skipSpaces = false;
    } else if (ch === '\\') {
      out += ch;
      escaped = true;
    } else if (ch === ',' || ch === '+' || ch === '=') {
      out = out.replace(/ +$/, '') + ch;
      skipSpaces = true;
    } else if (ch === ' ' && skipSpaces) {
      // space after a separator
    } else {
      out += ch;
      skipSpaces = false;
    }
  }
  return out;
}

/** A short reason for the log and the page, never containing a password. */
function describe(err: unknown, step: string): string {
  if (err instanceof LdapInvalidCredentialsError) return `LDAP ${step} was refused: invalid credentials`;
  if (err instanceof ResultCodeError) return `LDAP ${step} failed with result code ${err.code}`;
  const message = err instanceof Error ? err.message : String(err);
  return `LDAP ${step} failed: ${message.split('\n')[0]}`;
}
