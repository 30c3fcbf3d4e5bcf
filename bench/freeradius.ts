import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { chmod, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertFiles } from './eap-certs.js';

/**
 * A private FreeRADIUS 3.2, for bench:eap (EAP-TLS) and bench:radius (MAC authentication
 * from a users file) to compare with: Debian's
 * configuration copied to a temporary folder and changed there (never the system
 * service, never /etc), started in the foreground and stopped by its PID.
 *
 * What changes from Debian's configuration:
 * - mods-available/eap is replaced by an eap module with the tls method only: the
 *   benchmark's server certificate and key, its CA for the device certificates,
 *   TLS 1.2 to 1.3, and the session cache on (for resumption);
 * - sites-enabled/default listens on 127.0.0.1 only, on free ports; inner-tunnel (for
 *   PEAP and TTLS, which this module no longer offers) is not enabled, so nothing
 *   listens on its fixed port;
 * - clients.conf has the one client 127.0.0.1 with the benchmark's secret;
 * - with `users`, mods-config/files/authorize is that text (the files module's users file),
 *   and with `rejectDelay`, radiusd.conf's reject_delay;
 * - logs, the PID file and run files go to the temporary folder.
 * The rest (modules, policies, the thread pool of 5 to 32 threads) is Debian's.
 */

const SOURCE = '/etc/freeradius/3.0';
const FREERADIUS = 'freeradius';
/** FreeRADIUS drops to this user: what it reads must be readable by it. */
const SERVER_USER = 'freerad';

export interface FreeRadiusOptions {
  /** A temporary folder of the caller's, removed by the caller. */
  dir: string;
  authPort: number;
  acctPort: number;
  secret: string;
  server: CertFiles;
  /** The CA that issued the device certificates. */
  clientCa: string;
  /** The users file (mods-config/files/authorize) to answer from, instead of Debian's. */
  users?: string;
  /** radiusd.conf's security.reject_delay in seconds (Debian's: 1, each Access-Reject held back a second). */
  rejectDelay?: number;
}

export interface RunningFreeRadius {
  pid: number;
  log: string;
  stop(): Promise<void>;
}

/** The eap module: EAP-TLS only (RFC 5216; TLS 1.3 as RFC 9190), with the session cache that resumption needs. */
function eapModule(o: FreeRadiusOptions, dir: string): string {
  return `eap {
	default_eap_type = tls
	timer_expire = 60
	ignore_unknown_eap_types = no
	cisco_accounting_username_bug = no
	max_sessions = \${max_requests}
	tls-config tls-common {
		private_key_file = ${o.server.key}
		certificate_file = ${o.server.cert}
		ca_file = ${o.clientCa}
		cipher_list = "DEFAULT"
		cipher_server_preference = no
		tls_min_version = "1.2"
		tls_max_version = "1.3"
		ecdh_curve = ""
		cache {
			enable = yes
			lifetime = 24 # hours
			name = "enrollgate-bench"
			persist_dir = "${join(dir, 'tlscache')}"
		}
		verify {
		}
		ocsp {
			enable = no
		}
	}
	tls {
		tls = tls-common
	}
}
`;
}

/** Removes every top-level `listen { … }` block (nested braces included) from a virtual server's text. */
function withoutListenBlocks(text: string): string {
  let out = '';
  let at = 0;
  const start = /^listen\s*\{/gm;
  for (let m = start.exec(text); m; m = start.exec(text)) {
    out += text.slice(at, m.index);
    let depth = 0;
    let i = m.index + m[0].length - 1;
    for (; i < text.length; i++) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}' && --depth === 0) break;
    }
    at = i + 1;
    start.lastIndex = at;
  }
  return out + text.slice(at);
}

/** Writes the private configuration into `o.dir`/raddb; returns its path. */
export async function writeFreeRadiusConfig(o: FreeRadiusOptions): Promise<string> {
  const raddb = join(o.dir, 'raddb');
  await cp(SOURCE, raddb, { recursive: true, verbatimSymlinks: true });
  const runDir = join(o.dir, 'run');
  const logDir = join(o.dir, 'log');
  const cacheDir = join(o.dir, 'tlscache');
  for (const d of [runDir, logDir, cacheDir]) await mkdir(d, { recursive: true });

  await writeFile(join(raddb, 'mods-available', 'eap'), eapModule(o, o.dir));
  if (o.users !== undefined) await writeFile(join(raddb, 'mods-config', 'files', 'authorize'), o.users);
  await rm(join(raddb, 'sites-enabled', 'inner-tunnel'), { force: true });
  const site = await readFile(join(raddb, 'sites-available', 'default'), 'utf8');
  const listen = `listen {\n\ttype = auth\n\tipaddr = 127.0.0.1\n\tport = ${o.authPort}\n}\nlisten {\n\ttype = acct\n\tipaddr = 127.0.0.1\n\tport = ${o.acctPort}\n}\n`;
  const private_ = withoutListenBlocks(site).replace(/^server default \{\n/m, (m) => m + listen);
  if (private_ === site || !private_.includes(`port = ${o.authPort}`)) throw new Error('could not rewrite the listen sections of sites-available/default');
  // sites-enabled/default is a symlink to sites-available/default: replace the file it points to.
  await writeFile(join(raddb, 'sites-available', 'default'), private_);
  await writeFile(join(raddb, 'clients.conf'), `client bench {\n\tipaddr = 127.0.0.1\n\tsecret = ${o.secret}\n\trequire_message_authenticator = yes\n}\n`);
  const main = await readFile(join(raddb, 'radiusd.conf'), 'utf8');
  let changed = main.replace(/^logdir = .*$/m, `logdir = ${logDir}`).replace(/^run_dir = .*$/m, `run_dir = ${runDir}`);
  if (o.rejectDelay !== undefined) {
    changed = changed.replace(/^(\s*)reject_delay = .*$/m, `$1reject_delay = ${o.rejectDelay}`);
    if (!changed.includes(`reject_delay = ${o.rejectDelay}`)) throw new Error('could not set reject_delay in radiusd.conf');
  }
  if (!changed.includes(`logdir = ${logDir}`) || !changed.includes(`run_dir = ${runDir}`)) throw new Error('could not move logdir and run_dir in radiusd.conf');
  await writeFile(join(raddb, 'radiusd.conf'), changed);

  // The server reads its configuration and keys after it has become `freerad`: a throwaway
  // folder may be readable by all; the folders it writes to are writable by all.
  await openUp(o.dir);
  for (const d of [runDir, logDir, cacheDir]) await chmod(d, 0o777);
  return raddb;
}

async function openUp(path: string): Promise<void> {
  await chmod(path, 0o755);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await openUp(full);
    else await chmod(full, 0o644);
  }
}

/** A Status-Server (RFC 5997) with a Message-Authenticator; true if any answer came within `ms`. */
async function answersStatusServer(port: number, secret: string, ms: number): Promise<boolean> {
  const socket = createSocket('udp4');
  const packet = Buffer.concat([Buffer.from([12, randomBytes(1)[0]!, 0, 38]), randomBytes(16), Buffer.from([80, 18]), Buffer.alloc(16)]);
  createHmac('md5', secret).update(packet).digest().copy(packet, 22);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      socket.once('message', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.send(packet, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Starts FreeRADIUS on the private configuration and waits (at most `readyMs`) until it answers a Status-Server. */
export async function startFreeRadius(o: FreeRadiusOptions, readyMs = 20_000): Promise<RunningFreeRadius> {
  const raddb = await writeFreeRadiusConfig(o);
  const log = join(o.dir, 'log', 'radius.log');
  const child: ChildProcess = spawn(FREERADIUS, ['-f', '-d', raddb, '-l', log], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (exited !== undefined) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(killer);
  };
  const until = Date.now() + readyMs;
  while (Date.now() < until) {
    if (exited !== undefined) break;
    if (await answersStatusServer(o.authPort, o.secret, 300)) return { pid: child.pid!, log, stop };
  }
  await stop();
  const logged = await readFile(log, 'utf8').catch(() => '');
  throw new Error(`FreeRADIUS (${SERVER_USER}) did not answer within ${readyMs} ms (exit ${exited}):\n${output}\n${logged.slice(-4000)}`);
}
