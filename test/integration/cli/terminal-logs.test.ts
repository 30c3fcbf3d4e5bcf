import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { queryAudit } from '../../../src/audit/query.js';
import type { AuditRecord } from '../../../src/audit/record.js';
import { RELOAD_WAIT_MS } from '../../../src/cli/commands/reload.js';
import { initOnFreePorts, startCliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { cliEntry, runCli, SOURCE_RUN_MS } from '../../helpers/source.js';
import { stopChild } from '../../helpers/stop-child.js';

/**
 * `enrollgate start` (the CLI, this run's build of the sources) as a person and as a service see it. On
 * a real terminal (script(1) gives the gateway a pseudo-terminal as stdout): log lines
 * of text and a banner saying where everything is and what to do next. On a pipe (as
 * under systemd): JSON lines and nothing else, the start line carrying the banner's facts.
 */

let dir: string;
let configFile: string;
let ports: GatewayPorts;
let secret: string;
/** A gateway with RADIUS workers (processes of their own, which share its terminal), in a directory of its own. */
let workersDir: string;
let workersConfig: string;
let running: ChildProcess | undefined;
/** The PID of a gateway in a terminal that script(1) no longer holds. */
let orphan: number | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-terminal-'));
  // One RADIUS process: this suite is about stdout, and workers take seconds to start.
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 1;
  }));
  workersDir = join(dir, 'with-workers');
  ({ configFile: workersConfig } = await initOnFreePorts(workersDir, (doc) => {
    doc.radius.workers = 2;
  }));
}, 60_000);

afterEach(async () => {
  if (running) await stopChild(running, 10_000);
  running = undefined;
  // A gateway left running by a failed test, which script's end did not stop: it holds the ports.
  if (orphan !== undefined) {
    try {
      process.kill(orphan, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  orphan = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A word for sh -c: the paths are the test's own, quoted anyway. */
const quoted = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The environment of a person at a colour terminal. Node's hasColors() also answers no
 * when CI is set (as a CI runner sets it), or NO_COLOR or NODE_DISABLE_COLORS, and yes
 * for FORCE_COLOR whatever the terminal: none of those is the person's.
 */
function terminalEnv(): NodeJS.ProcessEnv {
  // script(1) runs the command with $SHELL -c: one shell, whatever the caller's login shell is.
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', SHELL: '/bin/sh' };
  for (const name of ['CI', 'NO_COLOR', 'NODE_DISABLE_COLORS', 'FORCE_COLOR', 'TMUX', 'COLORTERM']) delete env[name];
  return env;
}

/** Colours and the terminal's carriage returns removed: what a person reads. */
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '').replace(/\r/g, '');

/**
 * `enrollgate start --config config` in a pseudo-terminal of script(1); resolves once the banner
 * is shown, with script's process and what the terminal showed so far. With `observed`, the
 * gateway is the job of a shell that stays, as a person's shell at a prompt, instead of being
 * exec'd: the shell is told of the terminal's hangup (the session's leader is) and passes SIGHUP
 * on to the gateway as bash does to its jobs; as the gateway's parent it then writes how it ended
 * to `statusFile`: `$?` of wait, 128 + the signal that killed it (129 SIGHUP, 134 SIGABRT).
 * The gateway's stderr (and its workers') goes to `stderrFile`, where Node's report of an abort
 * would be; its input and output stay the terminal.
 */
async function startInTerminal(config: string, observed?: { statusFile: string; stderrFile: string }): Promise<{ child: ChildProcessWithoutNullStreams; output: () => string }> {
  const gateway = [process.execPath, cliEntry(), 'start', '--config', config].map(quoted).join(' ');
  // exec: the gateway itself is the terminal's foreground process (and its session's leader), as
  // when a person types the command. dash (Debian's /bin/sh) does not exec a -c command by
  // itself; left waiting, it would be killed by a Ctrl-C while the gateway stopped cleanly.
  // The shell that stays gives its job the terminal as input (without job control, `&` would
  // give it /dev/null), and waits again after its trap: the first wait ends at the signal.
  const command =
    observed === undefined
      ? `exec ${gateway}`
      : `trap 'kill -HUP $pid' HUP; ${gateway} < /dev/tty 2> ${quoted(observed.stderrFile)} & pid=$!; wait $pid; wait $pid; echo $? > ${quoted(observed.statusFile)}`;
  // -q quiet, -f flush at once, -e the command's exit status, -c the command; no typescript file.
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: terminalEnv() });
  running = child;
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no banner within 30 s:\n${output}`)), 30_000);
    const check = () => {
      if (plain(output).includes('Stop with Ctrl-C')) {
        clearTimeout(deadline);
        resolve();
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`script exited with ${code}:\n${output}`)));
  });
  return { child, output: () => output };
}

/** The controlling terminal of process `pid` (tty_nr, field 7 of /proc/PID/stat): 0 when it has none. */
function controllingTerminal(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
}

/** Whether process `pid` runs: it exists and is not a zombie left for its new parent to reap. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('enrollgate start', () => {
  it('on a terminal: text log lines, then a banner with the portal, RADIUS ports, store, directory and next steps', async () => {
    const { child, output: shown } = await startInTerminal(configFile);
    const output = shown();
    const text = plain(output);
    // A terminal that has colours gets them (TERM=xterm-256color).
    expect(output).toMatch(/\u001b\[32mINFO \u001b\[0m/);
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    // No JSON on the terminal: every log line is time, level, message.
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    const started = lines.find((l) => l.includes(' enrollgate started'));
    expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  enrollgate started  .*ports\.auth=\d+/);
    expect(started).toContain(`store="sqlite ${join(dir, 'state.sqlite')}"`);
    const banner = text.slice(text.indexOf('enrollgate is running'));
    expect(banner).toMatch(/Portal +https:\/\/\S+\/portal/);
    expect(banner).toMatch(/Admin console +https:\/\/\S+\/admin/);
    expect(banner).toContain(`auth ${ports.auth}/udp, accounting ${ports.acct}/udp`);
    expect(banner).toContain(`Store           sqlite ${join(dir, 'state.sqlite')}`);
    expect(banner).toContain(`Directory       users file ${join(dir, 'users.yaml')}`);
    expect(banner).toContain('Next:');
    expect(banner).toContain('enrollgate ports --format nftables');
    // Redaction holds in this form too.
    expect(output).not.toContain(secret);

    // Stopped as the banner says: Ctrl-C on the terminal (the pseudo-terminal turns it into
    // SIGINT for the gateway). script exits with the gateway's status once the gateway has
    // stopped; killing script instead would leave the gateway behind, still holding the
    // state and audit locks and the ports that the next test uses.
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('\x03');
    const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
    expect(code, plain(shown()).slice(-2000)).toBe(0);
    running = undefined;
  }, 90_000);

  it('on a terminal: `enrollgate reload` reloads it; closing the terminal stops it cleanly, then it ends by SIGHUP, not an abort', async () => {
    const statusFile = join(workersDir, 'exit-status');
    const stderrFile = join(workersDir, 'stderr');
    const { child } = await startInTerminal(workersConfig, { statusFile, stderrFile });
    // The gateway is the shell's job: its PID is the one its audit lock names.
    const lock = join(workersDir, 'audit', 'audit.lock');
    const pid = Number.parseInt(await readFile(lock, 'utf8'), 10);
    orphan = pid;

    // A SIGHUP from elsewhere while the terminal is open is a reload.
    const reloaded = await runCli(['reload', '--config', workersConfig], { cwd: workersDir });
    expect(reloaded.stderr).toBe('');
    expect(reloaded.code).toBe(0);
    expect(reloaded.stdout).toContain(`${workersConfig} reloaded (process ${pid}`);

    // Left by an `enrollgate reload` that crashed before its signal, long enough ago that its
    // command would have given up: it does not make the terminal's hangup a reload.
    const staleRequest = join(workersDir, 'audit', 'reload-request');
    await writeFile(staleRequest, JSON.stringify({ pid: 1, nonce: 'left-by-a-crashed-reload', at: new Date(Date.now() - RELOAD_WAIT_MS - 1_000).toISOString() }), { mode: 0o600 });

    // The terminal closed, as when its window is: script's end closes the pseudo-terminal, and
    // the kernel hangs it up (SIGHUP to the shell, its session's leader, which passes it on).
    // SIGKILL: script passes nothing on.
    const killed = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const closedAt = performance.now();
    child.kill('SIGKILL');
    await killed;
    running = undefined;
    // Stopping takes well under the 10 s the gateway allows itself (STOP_TIMEOUT_MS).
    await expect.poll(() => existsSync(statusFile), { timeout: 20_000, interval: 100 }).toBe(true);
    console.log(`terminal closed: the gateway exited within ${Math.ceil(performance.now() - closedAt)} ms`);
    // Killed by SIGHUP, as the gateway ends itself once its terminal is gone: Node 20 cannot exit
    // then (restoring the hung-up terminal's settings fails, and it aborts: 134, a core dump).
    // Nor did its workers abort: Node would have reported it on their stderr.
    expect(readFileSync(statusFile, 'utf8')).toBe('129\n');
    orphan = undefined;
    expect(readFileSync(stderrFile, 'utf8')).toBe('enrollgate: terminal closed, stopping\n');
    // A clean stop: the lock released, gateway.stopped the last record, saying why.
    expect(existsSync(lock)).toBe(false);
    const records: AuditRecord[] = [];
    queryAudit(join(workersDir, 'audit'), {}, (m) => void records.push(m.record));
    expect(records.at(-1)).toMatchObject({ type: 'gateway.stopped', pid, reason: 'terminal closed' });
    // The stale request was dropped, not left to answer a later hangup.
    expect(existsSync(staleRequest)).toBe(false);
  }, 90_000);

  it('outliving its terminal (a background job whose shell ended): `enrollgate reload` reloads it, and it runs on', async () => {
    // A person's shell: job control (set -m) gives the job a process group of its own and
    // leaves its input the terminal, as `enrollgate start > log 2>&1 &` typed at a prompt. The
    // shell waits for a line; when it ends, its session and terminal end, and the job, not in
    // the foreground, is sent nothing (as after `disown`, or a logout that leaves jobs running).
    const logFile = join(workersDir, 'background.log');
    const gatewayCommand = [process.execPath, cliEntry(), 'start', '--config', workersConfig].map(quoted).join(' ');
    const child = spawn('script', ['-qfec', `set -m; ${gatewayCommand} > ${quoted(logFile)} 2>&1 & read line`, '/dev/null'], {
      cwd: workersDir,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: terminalEnv(),
    });
    running = child;
    await expect.poll(() => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('enrollgate started'), { timeout: 30_000, interval: 100 }).toBe(true);
    const lock = join(workersDir, 'audit', 'audit.lock');
    const pid = Number.parseInt(await readFile(lock, 'utf8'), 10);
    orphan = pid;
    // It was started on the terminal: its controlling terminal is script's (field 7 of /proc/PID/stat).
    expect(controllingTerminal(pid)).not.toBe(0);
    const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.stdin.write('\n');
    expect(await ended).toBe(0);
    running = undefined;
    // The shell and its terminal are gone; the gateway runs on, without a controlling terminal.
    expect(controllingTerminal(pid)).toBe(0);
    expect(alive(pid)).toBe(true);

    // Given the time to say that the gateway did not answer, which it does at once when it reloads.
    const reloaded = await runCli(['reload', '--config', workersConfig], { cwd: workersDir, timeoutMs: RELOAD_WAIT_MS + SOURCE_RUN_MS });
    expect(reloaded.stderr).toBe('');
    expect(reloaded.code).toBe(0);
    expect(reloaded.stdout).toContain(`${workersConfig} reloaded (process ${pid}`);
    // Reloaded, not stopped: it still runs and still holds its lock.
    expect(alive(pid)).toBe(true);
    expect(existsSync(lock)).toBe(true);
    const records: AuditRecord[] = [];
    queryAudit(join(workersDir, 'audit'), {}, (m) => void records.push(m.record));
    expect(records.filter((r) => r.type === 'gateway.stopped' && r.pid === pid)).toEqual([]);
    expect(records.at(-1)).toMatchObject({ type: 'config.reloaded', file: workersConfig });

    // Stopped as such a job is, with SIGTERM: cleanly, its lock released.
    process.kill(pid, 'SIGTERM');
    await expect.poll(() => alive(pid), { timeout: 20_000, interval: 100 }).toBe(false);
    orphan = undefined;
    expect(existsSync(lock)).toBe(false);
    const after: AuditRecord[] = [];
    queryAudit(join(workersDir, 'audit'), {}, (m) => void after.push(m.record));
    expect(after.at(-1)).toMatchObject({ type: 'gateway.stopped', pid, reason: 'SIGTERM' });
    // Nobody's child, it ended by SIGHUP, not by Node's abort at exit on the hung-up terminal,
    // nor did its workers: Node reports an abort on stderr, here the log beside the JSON lines.
    expect(readFileSync(logFile, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('{'))).toEqual(['enrollgate: SIGTERM, stopping']);
  }, 120_000);

  it('on a pipe: every line of stdout is JSON, and the start line carries the banner facts', async () => {
    const gateway = await startCliGateway(configFile, dir);
    running = gateway.child;
    const stdout: string[] = [];
    // startCliGateway collects stdout and stderr together; stderr is empty until a signal.
    for (const line of gateway.output().split('\n').filter(Boolean)) stdout.push(line);
    const records = stdout.map((l) => JSON.parse(l) as Record<string, unknown>);
    const started = records.find((r) => r.event === 'gateway.started');
    expect(started).toMatchObject({
      msg: 'enrollgate started',
      ports: { http: ports.http, https: ports.https, auth: ports.auth, acct: ports.acct },
      radiusHost: '127.0.0.1',
      store: `sqlite ${join(dir, 'state.sqlite')}`,
      directory: `users file ${join(dir, 'users.yaml')}`,
    });
    expect(typeof started?.baseUrl).toBe('string');
    expect(gateway.output()).not.toContain('enrollgate is running');
    expect(gateway.output()).not.toContain(secret);
  }, 60_000);

  it('on a pipe whose reader is gone (a log collector that died): SIGTERM still stops it cleanly, exit 0', async () => {
    const gateway = await startCliGateway(configFile, dir);
    running = gateway.child;
    const pid = gateway.child.pid!;
    // Closing this end of both pipes: every write the gateway makes from now on fails with EPIPE.
    gateway.child.stdout!.destroy();
    gateway.child.stderr!.destroy();
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => gateway.child.once('exit', (code, signal) => resolve({ code, signal })));
    // It says "SIGTERM, stopping" on stderr, and logs the stop on stdout.
    gateway.child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    running = undefined;
    expect(existsSync(join(dir, 'audit', 'audit.lock'))).toBe(false);
    const records: AuditRecord[] = [];
    queryAudit(join(dir, 'audit'), {}, (m) => void records.push(m.record));
    expect(records.at(-1)).toMatchObject({ type: 'gateway.stopped', pid, reason: 'SIGTERM' });
  }, 60_000);
});
