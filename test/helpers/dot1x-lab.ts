import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from './stop-child.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeUdpPort } from './ports.js';
import { supplicantNetwork, type SupplicantNetwork } from './supplicant-network.js';

/**
 * An 802.1X port without a radio (docs/development.md, "The 802.1X lab"): hostapd
 * with its `wired` driver is the NAS (the authenticator), on one end of a veth pair
 * in the root namespace; wpa_supplicant with its `wired` driver is the device, on
 * the other end, inside a network namespace of its own. hostapd talks RADIUS to the
 * server under test on 127.0.0.1, sends accounting, and listens for RFC 5176
 * Disconnect-Requests on `dasPort`. Needs root (namespaces, links).
 */

export interface Dot1xLabOptions {
  /** The RADIUS server under test, on 127.0.0.1. */
  readonly authPort: number;
  /** Accounting port; without it hostapd sends no accounting. */
  readonly acctPort?: number;
  /** Shared secret for the RADIUS server and for Disconnect-Requests to hostapd. */
  readonly secret: string;
  /** The device's EAP settings (the same block eapol_test takes). */
  readonly network: SupplicantNetwork;
  /** The device's MAC (aa:bb:cc:dd:ee:ff); by default one derived from the PID and a counter, stable for the run. */
  readonly stationMac?: string;
  /** NAS-Identifier hostapd sends (default "enrollgate-lab"). */
  readonly nasIdentifier?: string;
  /** The UDP port hostapd takes Disconnect-Requests on (default: a free one); give it when the gateway must know it before the lab starts. */
  readonly dasPort?: number;
  /** How long start() waits for hostapd and wpa_supplicant to come up (default 10 s). */
  readonly startTimeoutMs?: number;
}

export type Dot1xLabPeer = 'hostapd' | 'supplicant';

export interface Dot1xLabWaitOptions {
  readonly in: Dot1xLabPeer;
  /** Default 10 s. */
  readonly timeoutMs?: number;
  /** Look only at log text after this offset (from `mark()`), to wait for the next event rather than an earlier one. */
  readonly since?: number;
}

export interface Dot1xLab {
  /** The device's MAC, lower case with colons (hostapd's form; RADIUS Calling-Station-Id is upper case with dashes). */
  readonly stationMac: string;
  /** The NAS port's MAC (hostapd's Called-Station-Id). */
  readonly nasMac: string;
  /** UDP port on 127.0.0.1 where hostapd takes Disconnect-Requests (radius_das_port). */
  readonly dasPort: number;
  readonly namespace: string;
  readonly nasInterface: string;
  readonly stationInterface: string;
  /** Resolves with the first match in that peer's log (after `since`), as soon as it is printed. */
  waitFor(pattern: RegExp, opts: Dot1xLabWaitOptions): Promise<RegExpMatchArray>;
  /** The current length of a peer's log: pass it as `since` to wait only for what comes next. */
  mark(peer: Dot1xLabPeer): number;
  /** A peer's log so far (hostapd -dd, wpa_supplicant -dd). */
  log(peer: Dot1xLabPeer): string;
  /** `hostapd_cli -p <ctrl> -i <nas> …args` (e.g. 'all_sta'), its output. */
  hostapdCli(...args: string[]): Promise<string>;
  /** `wpa_cli -p <ctrl> -i <station> …args` (e.g. 'status', 'reassociate', 'logoff', 'logon'), its output. */
  wpaCli(...args: string[]): Promise<string>;
  /** Kills both by PID and deletes the namespace and the link. Safe to call twice. */
  close(): Promise<void>;
}

const run = promisify(execFile);
const INSTALL = 'apt-get install -y --no-install-recommends hostapd wpasupplicant iproute2 (or sh test/install-peers.sh)';
const STOP_DEADLINE_MS = 3_000;
const CLI_TIMEOUT_MS = 5_000;
let labs = 0;

/** Creates the namespace and the veth pair, starts hostapd, waits for it, then starts wpa_supplicant. Always `await lab.close()`. */
export async function startDot1xLab(opts: Dot1xLabOptions): Promise<Dot1xLab> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-dot1x-'));
  const logs: Record<Dot1xLabPeer, string> = { hostapd: '', supplicant: '' };
  const children: Partial<Record<Dot1xLabPeer, ChildProcess>> = {};
  const listeners = new Set<() => void>();
  let names: Names | undefined;
  let closed = false;

  // If the test worker dies without close(), still take the peers and the namespace down.
  const onExit = (): void => {
    for (const child of Object.values(children)) child.kill('SIGKILL');
    if (names) removeNamesSync(names);
  };
  process.once('exit', onExit);

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await Promise.all(Object.values(children).map((c) => stopChild(c, STOP_DEADLINE_MS)));
    } finally {
      process.removeListener('exit', onExit);
      if (names) await removeNames(names);
      await rm(dir, { recursive: true, force: true });
    }
  };

  const waitFor = (pattern: RegExp, w: Dot1xLabWaitOptions): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timeoutMs = w.timeoutMs ?? 10_000;
      const check = (): void => {
        const m = logs[w.in].slice(w.since ?? 0).match(pattern);
        const child = children[w.in];
        if (m) finish(() => resolve(m));
        else if (child && (child.exitCode !== null || child.signalCode !== null)) {
          finish(() => reject(new Error(`${w.in} exited (${child.exitCode ?? child.signalCode}) before it logged ${pattern}:\n${tail(logs[w.in])}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${w.in} did not log ${pattern} within ${timeoutMs} ms:\n${tail(logs[w.in])}`))),
        timeoutMs,
      );
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        listeners.delete(check);
        then();
      };
      listeners.add(check);
      check();
    });

  const startPeer = (peer: Dot1xLabPeer, command: string, args: readonly string[]): Promise<ChildProcess> =>
    new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const onData = (chunk: string): void => {
        logs[peer] += chunk;
        for (const l of [...listeners]) l();
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      child.on('exit', () => {
        for (const l of [...listeners]) l();
      });
      child.once('spawn', () => {
        children[peer] = child;
        resolve(child);
      });
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'ENOENT' ? new Error(`${command} is not installed: ${INSTALL}`) : err),
      );
    });

  try {
    names = await createNames(opts.stationMac);
    const dasPort = opts.dasPort ?? (await freeUdpPort());
    const startTimeoutMs = opts.startTimeoutMs ?? 10_000;

    const hostapdConf = join(dir, 'hostapd.conf');
    await writeFile(hostapdConf, hostapdConfig(names, dir, dasPort, opts));
    await startPeer('hostapd', '/usr/sbin/hostapd', ['-dd', hostapdConf]);
    // The wired driver is up once hostapd enables the interface; EAPOL sent before that is lost.
    await waitFor(/AP-ENABLED|interface state \S+->ENABLED/, { in: 'hostapd', timeoutMs: startTimeoutMs });

    const supplicantConf = join(dir, 'supplicant.conf');
    await writeFile(supplicantConf, `ctrl_interface=${join(dir, 'wpa-ctrl')}\nap_scan=0\n${supplicantNetwork(opts.network)}`);
    // `ip netns exec` execs wpa_supplicant in place, so the child's PID is wpa_supplicant's.
    await startPeer('supplicant', 'ip', [
      'netns', 'exec', names.namespace,
      '/usr/sbin/wpa_supplicant', '-D', 'wired', '-i', names.station, '-c', supplicantConf, '-dd',
    ]);
    await waitFor(/Added interface|CTRL-EVENT-EAP-STARTED|EAPOL: SUPP_PAE entering state/, { in: 'supplicant', timeoutMs: startTimeoutMs });

    const n = names;
    const cli = async (command: string, args: readonly string[]): Promise<string> => {
      try {
        return (await run(command, args, { timeout: CLI_TIMEOUT_MS })).stdout;
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
        if (e.code === 'ENOENT') throw new Error(`${command} is not installed: ${INSTALL}`);
        throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: err });
      }
    };
    return {
      stationMac: n.stationMac,
      nasMac: n.nasMac,
      dasPort,
      namespace: n.namespace,
      nasInterface: n.nas,
      stationInterface: n.station,
      waitFor,
      mark: (peer) => logs[peer].length,
      log: (peer) => logs[peer],
      hostapdCli: (...args) => cli('/usr/sbin/hostapd_cli', ['-p', join(dir, 'hostapd-ctrl'), '-i', n.nas, ...args]),
      wpaCli: (...args) => cli('/usr/sbin/wpa_cli', ['-p', join(dir, 'wpa-ctrl'), '-i', n.station, ...args]),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function hostapdConfig(names: Names, dir: string, dasPort: number, opts: Dot1xLabOptions): string {
  const lines = [
    `interface=${names.nas}`,
    'driver=wired',
    'ieee8021x=1',
    // EAPOL to the PAE group address (01:80:c2:00:00:03), as a wired 802.1X switch port does.
    'use_pae_group_addr=1',
    // Re-authentication only when a test asks for it.
    'eap_reauth_period=0',
    'own_ip_addr=127.0.0.1',
    `nas_identifier=${opts.nasIdentifier ?? 'enrollgate-lab'}`,
    'auth_server_addr=127.0.0.1',
    `auth_server_port=${opts.authPort}`,
    `auth_server_shared_secret=${opts.secret}`,
  ];
  if (opts.acctPort !== undefined) {
    lines.push('acct_server_addr=127.0.0.1', `acct_server_port=${opts.acctPort}`, `acct_server_shared_secret=${opts.secret}`);
  }
  // RFC 5176 Dynamic Authorization: hostapd deauthenticates the device named by a Disconnect-Request.
  lines.push(`radius_das_port=${dasPort}`, `radius_das_client=127.0.0.1 ${opts.secret}`, `ctrl_interface=${join(dir, 'hostapd-ctrl')}`);
  return `${lines.join('\n')}\n`;
}

interface Names {
  readonly namespace: string;
  readonly nas: string;
  readonly station: string;
  readonly nasMac: string;
  readonly stationMac: string;
}

/**
 * Names unique to this process and lab (interface names are at most 15 bytes): eg<pid%1000>n<k>
 * and eg<pid%1000>s<k> for the two ends, eg<pid%1000>ns<k> for the namespace. A name left
 * behind by a killed run is skipped, not reused.
 */
async function createNames(stationMac: string | undefined): Promise<Names> {
  const pid = process.pid % 1000;
  for (let attempt = 0; attempt < 20; attempt++) {
    const k = labs++;
    const hex = (v: number): string => (v & 0xff).toString(16).padStart(2, '0');
    const tail = `${hex(process.pid >> 8)}:${hex(process.pid)}:${hex(k)}`;
    const names: Names = {
      namespace: `eg${pid}ns${k}`,
      nas: `eg${pid}n${k}`,
      station: `eg${pid}s${k}`,
      // Locally administered unicast (02:…): "NA" and "ST" in the second byte.
      nasMac: `02:4e:41:${tail}`,
      stationMac: (stationMac ?? `02:53:54:${tail}`).toLowerCase(),
    };
    try {
      await ip('netns', 'add', names.namespace);
    } catch (err) {
      if (/File exists/.test(String((err as { stderr?: string }).stderr))) continue;
      throw err;
    }
    try {
      await ip('link', 'add', names.nas, 'address', names.nasMac, 'type', 'veth', 'peer', 'name', names.station, 'address', names.stationMac);
      await ip('link', 'set', names.station, 'netns', names.namespace);
      await ip('link', 'set', names.nas, 'up');
      await ip('-n', names.namespace, 'link', 'set', names.station, 'up');
      return names;
    } catch (err) {
      await removeNames(names);
      if (/File exists/.test(String((err as { stderr?: string }).stderr))) continue;
      throw err;
    }
  }
  throw new Error('no free name for an 802.1X lab namespace after 20 tries: remove stale eg* namespaces (ip netns list)');
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: CLI_TIMEOUT_MS });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`ip is not installed: ${INSTALL}`);
    throw Object.assign(new Error(`ip ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err }), { stderr: e.stderr });
  }
}

/** Deleting the namespace destroys the station end, and with it the pair; the NAS end is deleted too in case the move never happened. */
async function removeNames(names: Names): Promise<void> {
  await run('ip', ['netns', 'del', names.namespace]).catch(() => undefined);
  await run('ip', ['link', 'del', names.nas]).catch(() => undefined);
}

function removeNamesSync(names: Names): void {
  for (const args of [['netns', 'del', names.namespace], ['link', 'del', names.nas]]) {
    try {
      execFileSync('ip', args, { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}

function tail(log: string): string {
  return log.slice(-4000);
}
