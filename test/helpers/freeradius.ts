import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { cp, mkdir, mkdtemp, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpPort } from './ports.js';

/**
 * A private FreeRADIUS 3 (Debian package freeradius) answering EAP-TLS, and TTLS/PEAP
 * for the users given, on free ports of 127.0.0.1: the reference server that the
 * 802.1X lab and the EAP benchmark compare the gateway with.
 *
 * It runs from a copy of Debian's /etc/freeradius/3.0 in a temporary directory, with
 * our own virtual server, client and eap module, as root (the copy's `user`/`group`
 * lines are removed, so the key needs no chmod for freerad), in the foreground,
 * and is stopped by its PID. It is not one of the peers `npm test` needs.
 */

export interface FreeRadiusOptions {
  /** PEM files: the server's certificate (serverAuth EKU) and key, and the CA that issued the client certificates. */
  readonly serverCert: string;
  readonly serverKey: string;
  readonly serverKeyPassword?: string;
  readonly ca: string;
  /** The RADIUS shared secret of the one client, 127.0.0.1. */
  readonly secret: string;
  /** Default '1.2' and '1.3'; FreeRADIUS's own default ceiling is 1.2. */
  readonly tlsMinVersion?: '1.2' | '1.3';
  readonly tlsMaxVersion?: '1.2' | '1.3';
  /** Turns the TLS session cache on, so that a second conversation can resume. Default off. */
  readonly resumption?: boolean;
  /** EAP-TLS fragment size (default 1024). */
  readonly fragmentSize?: number;
  /** Users with a cleartext password, for TTLS-PAP and PEAP-MSCHAPv2 (inner-tunnel). */
  readonly users?: Readonly<Record<string, string>>;
  /** Runs with -X (full debug on the log, one thread): for looking, not for figures. */
  readonly debug?: boolean;
}

export interface FreeRadius {
  readonly authPort: number;
  readonly acctPort: number;
  readonly pid: number;
  /** Its temporary directory (raddb/ and log/). */
  readonly dir: string;
  /** Its log so far (stdout, with `auth = yes`: a "Login OK"/"Login incorrect" line per conversation), and one line
   * `EG-ACCT <Acct-Status-Type> user=… cli=<Calling-Station-Id> nas=… session=…` per accounting request. */
  output(): string;
  /** Resolves with the first match of `pattern` in its output, now or later; rejects after `timeoutMs` or if it exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, waits for exit (SIGKILL after 5 s), removes its directory. */
  stop(): Promise<void>;
}

const FREERADIUS = '/usr/sbin/freeradius';
const DEBIAN_RADDB = '/etc/freeradius/3.0';
const READY_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 5_000;
const ACCOUNTING_LOG = 'accounting.log';
const INSTALL = 'apt-get install -y --no-install-recommends freeradius';

/** Starts it and resolves once it logs "Ready to process requests". Always `await stop()`. */
export async function startFreeRadius(opts: FreeRadiusOptions): Promise<FreeRadius> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-freeradius-'));
  let child: ChildProcess | undefined;
  const killOnExit = (): void => void child?.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  const waiters = new Set<() => void>();
  const append = (chunk: string): void => {
    output += chunk;
    for (const w of [...waiters]) w();
  };
  let watcher: FSWatcher | undefined;

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    watcher?.close();
    if (child) await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };

  const waitFor = (pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = output.match(pattern);
        if (m) {
          done();
          resolve(m);
          return true;
        }
        if (child && (child.exitCode !== null || child.signalCode !== null)) {
          done();
          reject(new Error(`freeradius exited (${child.exitCode ?? child.signalCode}) before it printed ${pattern}:\n${output.slice(-4000)}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`freeradius did not print ${pattern} within ${timeoutMs} ms:\n${output.slice(-4000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(listener);
      };
      const listener = (): void => void check();
      if (!check()) waiters.add(listener);
    });

  try {
    const [authPort, acctPort] = [await freeUdpPort(), await freeUdpPort()];
    const raddb = join(dir, 'raddb');
    const logdir = join(dir, 'log');
    await configure(raddb, logdir, opts, authPort, acctPort);
    watcher = followAccountingLog(logdir, append);

    const args = ['-f', '-d', raddb, '-l', 'stdout', ...(opts.debug ? ['-X'] : [])];
    const proc = spawn(FREERADIUS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.setEncoding('utf8').on('data', append);
    proc.stderr!.setEncoding('utf8').on('data', append);
    proc.on('exit', () => {
      for (const w of [...waiters]) w();
    });
    const spawned = new Promise<void>((resolve, reject) => {
      proc.once('spawn', resolve);
      proc.once('error', (err) =>
        reject(new Error(`cannot start ${FREERADIUS} (${err.message}): ${INSTALL}`)),
      );
    });
    await spawned;
    // Only a process that started is stopped: one that failed to spawn never emits 'exit'.
    child = proc;
    await waitFor(/Ready to process requests/, READY_DEADLINE_MS);

    return { authPort, acctPort, pid: proc.pid!, dir, output: () => output, waitFor, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A copy of Debian's raddb with our listeners, client, eap module and accounting log line. */
async function configure(raddb: string, logdir: string, opts: FreeRadiusOptions, authPort: number, acctPort: number): Promise<void> {
  await cp(DEBIAN_RADDB, raddb, { recursive: true, verbatimSymlinks: true }).catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new Error(`${DEBIAN_RADDB} is missing: ${INSTALL}`, { cause: err }) : err;
  });
  await mkdir(logdir);
  await mkdir(join(raddb, 'run'));

  const conf = join(raddb, 'radiusd.conf');
  const radiusd = (await readFile(conf, 'utf8'))
    .replace(/^raddbdir = .*$/m, `raddbdir = ${raddb}`)
    .replace(/^logdir = .*$/m, `logdir = ${logdir}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${raddb}/run`)
    // Root keeps reading the key and writing the logs in our root-owned temp dir.
    .replace(/^\s*(user|group) = freerad$/gm, '')
    // A Reject at once: the lab's failure cases should not each cost a second.
    .replace(/^\s*reject_delay = .*$/m, '\treject_delay = 0')
    // Log each Access-Accept/Reject on the log (stdout), one line each.
    .replace(/^(\s*)auth = no$/m, '$1auth = yes');
  await writeFile(conf, radiusd);

  await writeFile(
    join(raddb, 'clients.conf'),
    `client lab {\n\tipaddr = 127.0.0.1\n\tsecret = "${opts.secret}"\n\tshortname = lab\n}\n`,
  );

  // Only our server and the inner tunnel; the inner tunnel's test listener (fixed port 18120) goes.
  await unlink(join(raddb, 'sites-enabled', 'default'));
  const inner = join(raddb, 'sites-available', 'inner-tunnel');
  await writeFile(inner, (await readFile(inner, 'utf8')).replace(/^listen \{[^}]*\}/m, ''));
  await writeFile(join(raddb, 'sites-enabled', 'enrollgate-lab'), site(authPort, acctPort));

  await unlink(join(raddb, 'mods-enabled', 'eap'));
  await writeFile(join(raddb, 'mods-enabled', 'eap'), eapModule(opts));
  // One line per accounting request, for tests that wait for a Start or a Stop. Not /dev/stdout:
  // Node's stdio pipes are socketpairs, which open(2) on /dev/stdout refuses (ENXIO).
  await writeFile(
    join(raddb, 'mods-enabled', 'eg_acct_log'),
    `linelog eg_acct_log {\n\tfilename = ${join(logdir, ACCOUNTING_LOG)}\n` +
      '\tformat = "EG-ACCT %{Acct-Status-Type} user=%{User-Name} cli=%{Calling-Station-Id} nas=%{NAS-Identifier} session=%{Acct-Session-Id}"\n}\n',
  );

  const users = Object.entries(opts.users ?? {})
    .map(([name, password]) => `"${name}" Cleartext-Password := "${password}"\n`)
    .join('');
  const authorize = join(raddb, 'mods-config', 'files', 'authorize');
  await writeFile(authorize, users + (await readFile(authorize, 'utf8')));
}

function site(authPort: number, acctPort: number): string {
  return `server enrollgate-lab {
listen {
	type = auth
	ipaddr = 127.0.0.1
	port = ${authPort}
}
listen {
	type = acct
	ipaddr = 127.0.0.1
	port = ${acctPort}
}
authorize {
	preprocess
	eap {
		ok = return
	}
	files
	pap
}
authenticate {
	Auth-Type PAP {
		pap
	}
	eap
}
preacct {
	preprocess
	acct_unique
}
accounting {
	eg_acct_log
	ok
}
post-auth {
	Post-Auth-Type REJECT {
		attr_filter.access_reject
		eap
		remove_reply_message_if_eap
	}
}
}
`;
}

function eapModule(opts: FreeRadiusOptions): string {
  const password = opts.serverKeyPassword === undefined ? '' : `\t\tprivate_key_password = "${opts.serverKeyPassword}"\n`;
  return `eap {
	default_eap_type = tls
	timer_expire = 60
	ignore_unknown_eap_types = no
	cisco_accounting_username_bug = no
	max_sessions = \${max_requests}
	tls-config tls-common {
		private_key_file = ${opts.serverKey}
${password}		certificate_file = ${opts.serverCert}
		ca_file = ${opts.ca}
		fragment_size = ${opts.fragmentSize ?? 1024}
		include_length = yes
		cipher_list = "DEFAULT"
		cipher_server_preference = no
		tls_min_version = "${opts.tlsMinVersion ?? '1.2'}"
		tls_max_version = "${opts.tlsMaxVersion ?? '1.3'}"
		ecdh_curve = ""
		cache {
			enable = ${opts.resumption ? 'yes' : 'no'}
			lifetime = 24
			max_entries = 255
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
	ttls {
		tls = tls-common
		default_eap_type = md5
		copy_request_to_tunnel = no
		use_tunneled_reply = no
		virtual_server = "inner-tunnel"
	}
	peap {
		tls = tls-common
		default_eap_type = mschapv2
		copy_request_to_tunnel = no
		use_tunneled_reply = no
		virtual_server = "inner-tunnel"
	}
	md5 {
	}
	gtc {
		auth_type = PAP
	}
	mschapv2 {
	}
}
`;
}

/** Appends what the accounting linelog writes, as it is written (inotify), to the output. */
function followAccountingLog(logdir: string, append: (chunk: string) => void): FSWatcher {
  const file = join(logdir, ACCOUNTING_LOG);
  let offset = 0;
  let reading: Promise<void> = Promise.resolve();
  const readMore = async (): Promise<void> => {
    const handle = await open(file, 'r').catch(() => undefined);
    if (!handle) return;
    try {
      const { size } = await handle.stat();
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      await handle.read(buffer, 0, buffer.length, offset);
      offset = size;
      append(buffer.toString('utf8'));
    } finally {
      await handle.close();
    }
  };
  // One read at a time, in order: events can come faster than reads finish.
  return watch(logdir, (_event, name) => {
    if (name === ACCOUNTING_LOG) reading = reading.then(readMore).catch(() => undefined);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_DEADLINE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (late) {
    child.kill('SIGKILL');
    await exited;
  }
}
