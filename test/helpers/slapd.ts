import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTcpPort } from './ports.js';

/**
 * A private OpenLDAP slapd per call, for integration tests (docs/development.md, "Private peers").
 *
 * Each instance lives in its own temporary directory, listens on free ports on
 * 127.0.0.1 (ldap:// with StartTLS, and ldaps://), presents a certificate for
 * IP:127.0.0.1 signed by a throwaway CA (`ca`), and is seeded with the users
 * below. Nothing here talks to a server outside this machine.
 */

const run = promisify(execFile);
const SLAPD = '/usr/sbin/slapd';

export const SLAPD_BASE_DN = 'dc=example,dc=org';
const PEOPLE = `ou=people,${SLAPD_BASE_DN}`;
const CONTRACTORS = `ou=contractors,${SLAPD_BASE_DN}`;
const GROUPS = `ou=groups,${SLAPD_BASE_DN}`;

/** groupOfNames: the memberof overlay gives its members a memberOf value. */
export const SLAPD_WIFI_USERS_DN = `cn=wifi-users,${GROUPS}`;
/** groupOfUniqueNames: the memberof overlay ignores it, so its members have no memberOf
 * and a group check must look at the group entry itself. */
export const SLAPD_LEGACY_GROUP_DN = `cn=wifi-legacy,${GROUPS}`;
/** A uid held by two entries (in ou=people and ou=contractors): a directory mistake a login must not guess through. */
export const SLAPD_AMBIGUOUS_UID = 'twin';

export interface SlapdUser {
  readonly uid: string;
  readonly password: string;
  readonly cn: string;
  readonly dn: string;
  /** DNs of the groups the user is a member of. */
  readonly groups: readonly string[];
}

function user(uid: string, cn: string, password: string, groups: readonly string[], ou = PEOPLE): SlapdUser {
  // None of these uids contains a character RFC 4514 requires escaping in a DN
  // (`(`, `)`, `*` and `'` need none), so the DN is written as is.
  return { uid, cn, password, dn: `uid=${uid},${ou}`, groups };
}

/** The people every slapd instance starts with, for tests that need to log in. */
export const SLAPD_USERS = {
  alice: user('alice', 'Alice Example', 'alice-pass-1', [SLAPD_WIFI_USERS_DN]),
  bob: user('bob', 'Bob Example', 'bob-pass-2', []),
  /** uid and cn carry quote, comma, parentheses and star: everything a filter or DN must escape. */
  obrien: user("o'brien", "O'Brien, Pat (Contractor*)", 'obrien-pass-3', [SLAPD_WIFI_USERS_DN]),
  /** A uid made of filter metacharacters: a login as `pat(x)*` must match this entry and only it. */
  patx: user('pat(x)*', 'Pat X', 'patx-pass-4', [SLAPD_WIFI_USERS_DN]),
  /** Only in SLAPD_LEGACY_GROUP_DN, so no memberOf. */
  carol: user('carol', 'Carol Legacy', 'carol-pass-5', [SLAPD_LEGACY_GROUP_DN]),
  twinPeople: user(SLAPD_AMBIGUOUS_UID, 'Twin One', 'twin-pass-6', []),
  twinContractors: user(SLAPD_AMBIGUOUS_UID, 'Twin Two', 'twin-pass-7', [], CONTRACTORS),
} as const satisfies Record<string, SlapdUser>;

export interface Slapd {
  /** ldap://127.0.0.1:PORT (use StartTLS with `ca`). */
  readonly url: string;
  /** ldaps://127.0.0.1:PORT */
  readonly ldapsUrl: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: Buffer;
  readonly baseDn: string;
  /** The read-only service account the gateway binds as. */
  readonly bindDn: string;
  readonly bindPassword: string;
  /** cn=wifi-users (groupOfNames). */
  readonly groupDn: string;
  /** Adds a groupOfNames under ou=groups with these members (DNs); the memberof overlay gives them memberOf. Returns its DN. */
  addGroup(cn: string, members: readonly string[]): Promise<string>;
  /** Stops slapd (SIGTERM, waits for it to exit) and removes its directory. */
  stop(): Promise<void>;
}

const SERVICE_DN = `cn=portal-svc,ou=services,${SLAPD_BASE_DN}`;
const ROOT_DN = `cn=admin,${SLAPD_BASE_DN}`;
const READY_DEADLINE_MS = 15_000;
const POLL_INTERVAL_MS = 50;
const STOP_DEADLINE_MS = 5_000;

/** Starts a fresh, seeded slapd. Always `await slapd.stop()` (afterAll). */
export async function startSlapd(): Promise<Slapd> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-slapd-'));
  let child: ChildProcess | undefined;
  let killOnExit: (() => void) | undefined;

  const stop = async (): Promise<void> => {
    if (killOnExit) process.removeListener('exit', killOnExit);
    if (child) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ca = await makeCertificates(dir);
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const rootPassword = randomBytes(12).toString('base64url');
    const bindPassword = randomBytes(12).toString('base64url');
    await mkdir(join(dir, 'db'));
    const conf = join(dir, 'slapd.conf');
    await writeFile(conf, slapdConf(dir, rootPassword));

    const url = `ldap://127.0.0.1:${port}`;
    const ldapsUrl = `ldaps://127.0.0.1:${tlsPort}`;
    let stderr = '';
    const proc = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `${url}/ ${ldapsUrl}/`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    // If the test worker dies without afterAll, do not leave slapd behind.
    killOnExit = () => proc.kill('SIGKILL');
    process.once('exit', killOnExit);

    await waitUntilReady(proc, url, () => stderr);

    const seed = join(dir, 'seed.ldif');
    await writeFile(seed, seedLdif(bindPassword));
    await run('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', rootPassword, '-f', seed]);

    return {
      url,
      ldapsUrl,
      ca,
      baseDn: SLAPD_BASE_DN,
      bindDn: SERVICE_DN,
      bindPassword,
      groupDn: SLAPD_WIFI_USERS_DN,
      async addGroup(cn, members) {
        const dn = `cn=${cn},${GROUPS}`;
        const file = join(dir, `group-${cn}.ldif`);
        await writeFile(file, `${ldifEntry(dn, [['objectClass', 'groupOfNames'], ['cn', cn], ...members.map((m) => ['member', m] as const)])}\n`);
        await run('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', rootPassword, '-f', file]);
        return dn;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function makeCertificates(dir: string): Promise<Buffer> {
  const tls = join(dir, 'tls');
  await mkdir(tls);
  const f = (name: string): string => join(tls, name);
  // EC keys: generated in milliseconds, where RSA 2048 costs a noticeable part of a second.
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req', '-x509', ...ec, '-days', '2', '-subj', '/CN=enrollgate test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', f('ca-key.pem'), '-out', f('ca.pem'),
  ]);
  await run('openssl', ['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', f('key.pem'), '-out', f('cert.csr')]);
  await writeFile(
    f('ext.cnf'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n',
  );
  await run('openssl', [
    'x509', '-req', '-in', f('cert.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'),
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-extfile', f('ext.cnf'), '-out', f('cert.pem'),
  ]);
  return readFile(f('ca.pem'));
}

function slapdConf(dir: string, rootPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
TLSCertificateFile ${dir}/tls/cert.pem
TLSCertificateKeyFile ${dir}/tls/key.pem
database mdb
maxsize 104857600
suffix "${SLAPD_BASE_DN}"
rootdn "${ROOT_DN}"
rootpw ${ssha(rootPassword)}
directory ${dir}/db
index objectClass,uid,cn,member,uniqueMember eq
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="${SERVICE_DN}" read by self read by * none
`;
}

/** RFC 2307-style {SSHA}: SHA-1 over password ‖ salt, then salt appended; slapd checks binds against it. */
function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** One LDIF line; values that are not plain printable ASCII go base64 (RFC 2849 SAFE-STRING). */
function ldifLine(attr: string, value: string): string {
  const safe = /^[\x21-\x39\x3b\x3d-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value);
  return safe ? `${attr}: ${value}` : `${attr}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

function ldifEntry(dn: string, attrs: ReadonlyArray<readonly [string, string]>): string {
  return [ldifLine('dn', dn), ...attrs.map(([a, v]) => ldifLine(a, v))].join('\n') + '\n';
}

function seedLdif(bindPassword: string): string {
  const entries: string[] = [
    ldifEntry(SLAPD_BASE_DN, [['objectClass', 'dcObject'], ['objectClass', 'organization'], ['dc', 'example'], ['o', 'Example']]),
    ...['people', 'contractors', 'groups', 'services'].map((ou) =>
      ldifEntry(`ou=${ou},${SLAPD_BASE_DN}`, [['objectClass', 'organizationalUnit'], ['ou', ou]]),
    ),
    ldifEntry(SERVICE_DN, [
      ['objectClass', 'applicationProcess'],
      ['objectClass', 'simpleSecurityObject'],
      ['cn', 'portal-svc'],
      ['userPassword', ssha(bindPassword)],
    ]),
  ];
  // Users before groups: the memberof overlay writes memberOf into member entries that must already exist.
  for (const u of Object.values(SLAPD_USERS)) {
    entries.push(
      ldifEntry(u.dn, [
        ['objectClass', 'inetOrgPerson'],
        ['uid', u.uid],
        ['cn', u.cn],
        ['sn', u.cn.split(/[ ,]/)[0] ?? u.cn],
        ['userPassword', ssha(u.password)],
      ]),
    );
  }
  const members = (group: string): string[] =>
    Object.values(SLAPD_USERS).filter((u) => (u.groups as readonly string[]).includes(group)).map((u) => u.dn);
  entries.push(
    ldifEntry(SLAPD_WIFI_USERS_DN, [
      ['objectClass', 'groupOfNames'],
      ['cn', 'wifi-users'],
      ...members(SLAPD_WIFI_USERS_DN).map((dn) => ['member', dn] as const),
    ]),
    ldifEntry(SLAPD_LEGACY_GROUP_DN, [
      ['objectClass', 'groupOfUniqueNames'],
      ['cn', 'wifi-legacy'],
      ...members(SLAPD_LEGACY_GROUP_DN).map((dn) => ['uniqueMember', dn] as const),
    ]),
  );
  return entries.join('\n');
}

/** Polls the root DSE until slapd answers; fails early with slapd's own words if it exits. */
async function waitUntilReady(proc: ChildProcess, url: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`slapd exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${stderr()}`);
    }
    try {
      await run('ldapsearch', ['-x', '-H', url, '-s', 'base', '-b', '', '-o', 'nettimeout=1', 'namingContexts'], {
        timeout: 2_000,
      });
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`slapd did not answer on ${url} within ${READY_DEADLINE_MS} ms:\n${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_DEADLINE_MS);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}
