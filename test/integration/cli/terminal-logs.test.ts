import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initOnFreePorts, startCliGateway, type GatewayPorts } from '../../helpers/gateway.js';
import { cliEntry } from '../../helpers/source.js';
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
let running: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'enrollgate-terminal-'));
  // One RADIUS process: this suite is about stdout, and workers take seconds to start.
  ({ configFile, ports, secret } = await initOnFreePorts(dir, (doc) => {
    doc.radius.workers = 1;
  }));
}, 60_000);

afterEach(async () => {
  if (running) await stopChild(running, 10_000);
  running = undefined;
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

describe('enrollgate start', () => {
  it('on a terminal: text log lines, then a banner with the portal, RADIUS ports, store, directory and next steps', async () => {
    // exec: the gateway itself is the terminal's foreground process, as when a person types the
    // command. dash (Debian's /bin/sh) does not exec a -c command by itself; left waiting, it
    // would be killed by the Ctrl-C below while the gateway stopped cleanly.
    const command = `exec ${[process.execPath, cliEntry(), 'start', '--config', configFile].map(quoted).join(' ')}`;
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
    expect(code, plain(output).slice(-2000)).toBe(0);
    running = undefined;
  }, 90_000);

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
});
