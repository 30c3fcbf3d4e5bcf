import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { supplicantNetwork, type SupplicantNetwork } from './supplicant-network.js';

/**
 * eapol_test (Debian package eapoltest, from hostap) as one 802.1X device talking
 * EAP straight to a RADIUS server, without a NAS: one process per conversation,
 * `-r N` re-authentications after the first. Its output (always at debug level)
 * is parsed into what the tests check: success, the MPPE key check, the TLS
 * version, the RADIUS round trips and the final reply's attributes.
 */

export interface EapolTestOptions extends SupplicantNetwork {
  /** The RADIUS authentication port on `server` (default 127.0.0.1). */
  readonly port: number;
  readonly server?: string;
  readonly secret: string;
  /** Re-authentications after the first conversation (`-r`; default 0). */
  readonly reauthentications?: number;
  /** eapol_test's own deadline in seconds (`-t`; default 10); the process is killed 5 s after it. */
  readonly timeoutSeconds?: number;
  /** Calling-Station-Id (`-M`, aa:bb:cc:dd:ee:ff; eapol_test's default is 02:00:00:00:00:01). */
  readonly mac?: string;
  /** Extra Access-Request attributes, `-N` specs: "attr_id:s:text", "attr_id:d:42", "attr_id:x:0a0b". */
  readonly attributes?: readonly string[];
}

/** One attribute as eapol_test prints it: strings as text, everything else as hex. */
export interface EapolAttribute {
  readonly type: number;
  readonly name: string;
  readonly value: string;
}

/** One EAP conversation: the first, or one of the re-authentications. */
export interface EapolRun {
  /** The EAP method the device selected ("TLS", "TTLS", "PEAP"). */
  readonly method?: string;
  /** "TLSv1.2", "TLSv1.3" (the last version OpenSSL reported for the run). */
  readonly tlsVersion?: string;
  /** Whether the TLS handshake resumed a session ("OpenSSL: Handshake finished - resumed=1"). */
  readonly resumed?: boolean;
  /** RADIUS replies received, each one a round trip. */
  readonly roundTrips: number;
  /** TLS session tickets (NewSessionTicket messages) the device received from the server. */
  readonly sessionTickets: number;
  readonly accessChallenges: number;
  /** The last reply: 'Accept', 'Reject' (or 'Challenge' when the conversation stopped half-way). */
  readonly radiusCode?: 'Accept' | 'Reject' | 'Challenge';
  /** The attributes of that last reply. */
  readonly replyAttributes: readonly EapolAttribute[];
  /** The supplicant saw EAP-Success, or EAP-Failure. */
  readonly eapSuccess: boolean;
  readonly eapFailure: boolean;
}

export interface EapolTestResult {
  /** null when it was killed (see `killed`). */
  readonly exitCode: number | null;
  /** Its own `-t` deadline passed ("EAPOL test timed out"): typically the server never answered. */
  readonly timedOut: boolean;
  /** Killed by our timer after eapol_test outlived its own `-t`. */
  readonly killed: boolean;
  /** Exit 0 and the final "SUCCESS" line. */
  readonly success: boolean;
  /** "MPPE keys OK: N  mismatch: M": N conversations whose MS-MPPE keys matched the MSK the device derived. */
  readonly mppe?: { readonly ok: number; readonly mismatch: number };
  /** Every run's keys matched (ok equals the runs, no mismatch). */
  readonly mppeKeysOk: boolean;
  /** The first conversation, then each re-authentication. */
  readonly runs: readonly EapolRun[];
  /** The last run's, for the common single-run case. */
  readonly method?: string;
  readonly tlsVersion?: string;
  readonly resumed?: boolean;
  readonly radiusCode?: 'Accept' | 'Reject' | 'Challenge';
  readonly replyAttributes: readonly EapolAttribute[];
  /** Summed over all runs. */
  readonly roundTrips: number;
  readonly accessChallenges: number;
  /** Everything eapol_test printed (stdout and stderr), for failure messages. */
  readonly output: string;
}

const EAPOL_TEST = 'eapol_test';
const INSTALL = 'apt-get install -y --no-install-recommends eapoltest (or sh test/install-peers.sh)';
const KILL_GRACE_MS = 5_000;

/** Runs one eapol_test conversation (plus `reauthentications`) and parses what it printed. */
export async function runEapolTest(opts: EapolTestOptions): Promise<EapolTestResult> {
  const dir = await mkdtemp(join(tmpdir(), 'enrollgate-eapol-'));
  try {
    const conf = join(dir, 'eapol.conf');
    await writeFile(conf, supplicantNetwork(opts));
    const timeout = opts.timeoutSeconds ?? 10;
    const args = [
      '-c', conf,
      '-a', opts.server ?? '127.0.0.1',
      '-p', String(opts.port),
      '-s', opts.secret,
      '-r', String(opts.reauthentications ?? 0),
      '-t', String(timeout),
      ...(opts.mac ? ['-M', opts.mac] : []),
      ...(opts.attributes ?? []).flatMap((spec) => ['-N', spec]),
    ];
    const { exitCode, killed, output } = await execute(args, timeout * 1000 + KILL_GRACE_MS);
    return parseEapolTestOutput(output, exitCode, killed);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function execute(args: readonly string[], killAfterMs: number): Promise<{ exitCode: number | null; killed: boolean; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(EAPOL_TEST, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(`${EAPOL_TEST} is not installed: ${INSTALL}`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, killed, output });
    });
  });
}

const RUN_SEPARATOR = /^eapol_test: Triggering EAP reauthentication$/m;
// A received reply: its header line, then "   Attribute N (Name) length=L" each followed by "      Value: …".
const RECEIVED = /^Received RADIUS message\nRADIUS message: code=(\d+) \(([^)]*)\)[^\n]*\n((?:   Attribute .*\n(?: {6}.*\n)*)*)/gm;
const ATTRIBUTE = /^ {3}Attribute (\d+) \(([^)]*)\) length=\d+\n {6}Value: (.*)$/gm;
const REPLY_CODES: Record<string, 'Accept' | 'Reject' | 'Challenge'> = { '2': 'Accept', '3': 'Reject', '11': 'Challenge' };

/** Parses eapol_test's output; pure, for the unit tests (test/unit/helpers). */
export function parseEapolTestOutput(output: string, exitCode: number | null, killed = false): EapolTestResult {
  const text = output.replace(/\r\n/g, '\n');
  const runs = text.split(RUN_SEPARATOR).map(parseRun);
  const mppeMatch = /^MPPE keys OK: (\d+) +mismatch: (\d+)$/m.exec(text);
  const mppe = mppeMatch ? { ok: Number(mppeMatch[1]), mismatch: Number(mppeMatch[2]) } : undefined;
  const last = runs[runs.length - 1]!;
  return {
    exitCode,
    timedOut: /^EAPOL test timed out$/m.test(text),
    killed,
    success: exitCode === 0 && /^SUCCESS$/m.test(text),
    ...(mppe ? { mppe } : {}),
    mppeKeysOk: mppe !== undefined && mppe.mismatch === 0 && mppe.ok === runs.length,
    runs,
    ...optional('method', last.method),
    ...optional('tlsVersion', last.tlsVersion),
    ...optional('resumed', last.resumed),
    ...optional('radiusCode', last.radiusCode),
    replyAttributes: last.replyAttributes,
    roundTrips: runs.reduce((n, r) => n + r.roundTrips, 0),
    accessChallenges: runs.reduce((n, r) => n + r.accessChallenges, 0),
    output,
  };
}

function parseRun(text: string): EapolRun {
  const replies = [...text.matchAll(RECEIVED)].map((m) => ({
    code: REPLY_CODES[m[1]!],
    attributes: [...m[3]!.matchAll(ATTRIBUTE)].map((a) => ({ type: Number(a[1]), name: a[2]!, value: unquote(a[3]!) })),
  }));
  const final = replies[replies.length - 1];
  const resumed = lastMatch(text, /^OpenSSL: Handshake finished - resumed=(\d)$/gm);
  return {
    ...optional('method', /^CTRL-EVENT-EAP-METHOD EAP vendor \d+ method \d+ \(([^)]+)\) selected$/m.exec(text)?.[1]),
    ...optional('tlsVersion', lastMatch(text, /^SSL: Using TLS version (\S+)$/gm)),
    ...optional('resumed', resumed === undefined ? undefined : resumed === '1'),
    roundTrips: replies.length,
    sessionTickets: [...text.matchAll(/^SSL: SSL_connect:SSLv3\/TLS read server session ticket$/gm)].length,
    accessChallenges: replies.filter((r) => r.code === 'Challenge').length,
    ...optional('radiusCode', final?.code),
    replyAttributes: final?.attributes ?? [],
    eapSuccess: /^CTRL-EVENT-EAP-SUCCESS /m.test(text),
    eapFailure: /^CTRL-EVENT-EAP-FAILURE /m.test(text),
  };
}

/** eapol_test prints printable string values in single quotes, other values as hex. */
function unquote(value: string): string {
  return /^'.*'$/.test(value) ? value.slice(1, -1) : value;
}

function lastMatch(text: string, pattern: RegExp): string | undefined {
  let found: string | undefined;
  for (const m of text.matchAll(pattern)) found = m[1];
  return found;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
