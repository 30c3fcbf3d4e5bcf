#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configLocation, loadConfigHashed, migrationRedisUrl, type Config } from '../config/load.js';
import { layoutFor } from '../config/layout.js';
import type { AuditEvent } from '../audit/events.js';
import { BadInputError, ConfigError, GatewayError } from '../errors.js';
import { createLogger, logsForPeople, type Logger } from '../logger.js';
import { startGateway } from '../main.js';
import { createDirectory, readMaterials, type Materials } from '../wiring.js';
import { portalCertificateProblem, portalCertificateWarning } from '../pki/portal-certificate.js';
import { AUDIT_SUBCOMMANDS, AUDIT_USAGE, auditCommand } from './commands/audit.js';
import { DEVICES_SUBCOMMANDS, DEVICES_USAGE, devicesCommand } from './commands/devices.js';
import { SESSIONS_SUBCOMMANDS, SESSIONS_USAGE, sessionsCommand } from './commands/sessions.js';
import { STORE_SUBCOMMANDS, STORE_USAGE, storeCommand } from './commands/store.js';
import { BACKUP_USAGE, backupCommand, restoreCommand } from './commands/backup.js';
import { CONFIG_NAME, initCommand } from './commands/init.js';
import { PORTS_FORMATS, PORTS_USAGE, portsCommand } from './commands/ports.js';
import { TEST_MAC_USAGE, testMacCommand } from './commands/test-mac.js';
import { TEST_USER_USAGE, testUserCommand } from './commands/test-user.js';
import { CHECK_CONFIG_USAGE, checkConfig, checkOnline, problemsMessage } from './commands/check-config.js';
import { USERS_SUBCOMMANDS, USERS_USAGE, usersCommand } from './commands/users.js';
import { gatewayAuditDir, RELOAD_USAGE, reloadCommand, writeReloadReport } from './commands/reload.js';
import { auditFromCli } from './administration.js';
import { startBanner } from './start-banner.js';
import { hasTerminal, startedOnTerminal, survivingHangup } from './terminal.js';
import { readPassword } from './read-password.js';

const USAGE = `enrollgate: captive-portal Wi-Fi enrollment gateway

Usage:
  enrollgate init [--dir DIR] [--certs DIR] [--portal-url URL] [--listen ADDRESS] [--nt-hash]
      Create DIR/${CONFIG_NAME} (default DIR: ./data), a users file, a RADIUS secret,
      and the gateway's CA and server certificate (default: ./certs, or DIR/certs with --dir).
      Installed as a package (npm install -g), the defaults are /etc/enrollgate for the config
      and /var/lib/enrollgate for the certificates, the SQLite state and the audit trail.
      --nt-hash also keeps the first user's NT hash, which 802.1X PEAP needs (password-equivalent).
  enrollgate start [--config FILE]
      Run the gateway. FILE defaults to $ENROLLGATE_CONFIG, else ./data/${CONFIG_NAME}
      (installed as a package: /etc/enrollgate/${CONFIG_NAME});
      when neither exists and no FILE is given, runs init first. SIGHUP reloads FILE;
      closing the terminal it was started in stops it.
${RELOAD_USAGE}
${CHECK_CONFIG_USAGE}${PORTS_USAGE}
${USERS_USAGE}${DEVICES_USAGE}${SESSIONS_USAGE}${AUDIT_USAGE}${STORE_USAGE}${BACKUP_USAGE}${TEST_MAC_USAGE}${TEST_USER_USAGE}`;

/** The `test` subcommands: what the gateway would do, asked without a router or a phone. */
const TEST_SUBCOMMANDS = ['mac', 'user'] as const;

/** Exit statuses: 1 for a failure while running, 2 for a bad command line or configuration. */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/** The flags each command takes; any other is a usage error rather than silently ignored. */
const FLAGS: Record<string, readonly string[]> = {
  init: ['dir', 'certs', 'portal-url', 'listen', 'nt-hash'],
  start: ['config'],
  reload: ['config'],
  'check-config': ['config', 'online', 'user'],
  devices: ['config', 'user', 'reason'],
  sessions: ['config', 'user', 'reason'],
  store: ['config', 'to', 'redis-url', 'sqlite-file', 'resume', 'verify-only'],
  backup: ['config', 'to'],
  restore: ['config', 'from'],
  ports: ['config', 'format'],
  test: ['config', 'nas', 'json', 'password'],
  users: ['config', 'display-name', 'group', 'nt-hash'],
  audit: ['config', 'dir', 'from', 'to', 'user', 'mac', 'type', 'outcome', 'format', 'limit', 'before', 'archive'],
};

/** How long a stop may take after SIGTERM before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (message: string, code = EXIT_USAGE): never => {
  process.stderr.write(`enrollgate: ${message}\n`);
  process.exit(code);
};
const usage = (message: string): never => fail(`${message}\n\n${USAGE}`, EXIT_USAGE);

/** A configuration problem: exit 2 with the message, and the file it is about unless the message names it already. */
const configFail = (err: ConfigError, file: string): never => fail(err.message.includes(file) ? err.message : `${err.message}\n(config file: ${file})`);

function load(file: string): Config {
  return loadHashed(file).config;
}

/** load(), with the SHA-256 of the bytes read (what `start` logs and audits). */
function loadHashed(file: string): { config: Config; sha256: string } {
  try {
    return loadConfigHashed(file);
  } catch (err) {
    if (err instanceof ConfigError) return configFail(err, file);
    throw err;
  }
}

function isHttpUrl(v: string): boolean {
  try {
    return /^https?:$/.test(new URL(v).protocol);
  } catch {
    return false;
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        dir: { type: 'string' },
        certs: { type: 'string' },
        'portal-url': { type: 'string' },
        listen: { type: 'string' },
        user: { type: 'string' },
        reason: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        mac: { type: 'string' },
        type: { type: 'string' },
        outcome: { type: 'string' },
        format: { type: 'string' },
        limit: { type: 'string' },
        before: { type: 'string' },
        archive: { type: 'string' },
        'redis-url': { type: 'string' },
        'sqlite-file': { type: 'string' },
        resume: { type: 'boolean' },
        'verify-only': { type: 'boolean' },
        'nt-hash': { type: 'boolean' },
        'display-name': { type: 'string' },
        group: { type: 'string', multiple: true },
        nas: { type: 'string' },
        json: { type: 'boolean' },
        password: { type: 'boolean' },
        online: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // ERR_PARSE_ARGS_UNKNOWN_OPTION, ERR_PARSE_ARGS_INVALID_OPTION_VALUE: the message says which flag.
    return usage((err as Error).message);
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return print(USAGE);
  const allowed = FLAGS[command];
  if (allowed === undefined) return usage(`unknown command "${command}"`);
  if (rest.length > 0 && command !== 'devices' && command !== 'sessions' && command !== 'audit' && command !== 'store' && command !== 'test' && command !== 'users') usage(`unexpected arguments: ${rest.join(' ')}`);
  const misplaced = Object.keys(values).filter((k) => k !== 'help' && !allowed.includes(k));
  if (misplaced.length > 0) usage(`${command} does not take ${misplaced.map((k) => `--${k}`).join(', ')}`);

  switch (command) {
    case 'init': {
      const portalUrl = values['portal-url'];
      if (portalUrl !== undefined && !isHttpUrl(portalUrl)) {
        usage(`--portal-url: got ${JSON.stringify(portalUrl)}; expected an absolute http(s) URL such as https://wifi.example.org`);
      }
      if (values.listen !== undefined && isIP(values.listen) === 0) {
        usage(`--listen: got ${JSON.stringify(values.listen)}; expected an IP address such as 0.0.0.0 or 127.0.0.1`);
      }
      // --dir keeps everything under DIR; without it, the layout's places (a checkout's ./data and ./certs, or /etc and /var/lib).
      const layout = layoutFor();
      const dir = resolve(values.dir ?? layout.configDir);
      const certs = resolve(values.certs ?? (values.dir ? `${dir}/certs` : layout.certsDir));
      await initCommand({
        dir,
        certsDir: certs,
        ...(values.dir === undefined && layout.stateDir !== undefined ? { stateDir: layout.stateDir } : {}),
        ...(portalUrl ? { portalUrl } : {}),
        ...(values.listen ? { listen: values.listen } : {}),
        ...(values['nt-hash'] ? { ntHash: true } : {}),
        print,
      });
      return;
    }
    case 'check-config': {
      if (values.user !== undefined && !values.online) usage('check-config: --user goes with --online');
      const { file } = configLocation(values.config);
      let report: Awaited<ReturnType<typeof checkConfig>>;
      try {
        report = await checkConfig(file);
      } catch (err) {
        if (err instanceof ConfigError) return configFail(err, file);
        throw err;
      }
      if (report.problems.length > 0) return configFail(new ConfigError(problemsMessage(report.problems), report.problems), file);
      // A warning does not fail the check (exit 0): the gateway runs, only not as the admin meant.
      for (const w of report.warnings) process.stderr.write(`enrollgate: warning: ${w}\n`);
      const config = report.config!;
      print(`${file}: OK (${config.radius.clients.length} RADIUS client(s), directory: ${config.directory.kind}, store: ${config.store.kind})`);
      if (values.online) {
        const ok = await checkOnline(config, report.materials!, values.user, print);
        process.stdout.write('', () => process.exit(ok ? 0 : EXIT_FAILURE));
      }
      return;
    }
    case 'ports': {
      // The format first: a typo is a usage error whatever the state of the config file.
      if (values.format !== undefined && !PORTS_FORMATS.includes(values.format)) {
        usage(`--format: got ${JSON.stringify(values.format)}; expected one of ${PORTS_FORMATS.join(', ')}`);
      }
      portsCommand(load(configLocation(values.config).file), values.format, (text) => void process.stdout.write(text));
      return;
    }
    case 'devices': {
      const sub = subcommand('devices', DEVICES_SUBCOMMANDS, rest[0]);
      const flags = { ...(values.user !== undefined ? { user: values.user } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) };
      await badInputExits(() => devicesCommand(load(configLocation(values.config).file), sub, rest.slice(1), flags, print));
      return;
    }
    case 'sessions': {
      const sub = subcommand('sessions', SESSIONS_SUBCOMMANDS, rest[0]);
      const flags = { ...(values.user !== undefined ? { user: values.user } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) };
      await badInputExits(() => sessionsCommand(load(configLocation(values.config).file), sub, rest.slice(1), flags, print));
      return;
    }
    case 'test': {
      const sub = subcommand('test', TEST_SUBCOMMANDS, rest[0]);
      const wrong = sub === 'mac' ? ['password'] : ['nas', 'json'];
      const given = wrong.filter((k) => k in values);
      if (given.length > 0) usage(`test ${sub} does not take ${given.map((k) => `--${k}`).join(', ')}`);
      const { file } = configLocation(values.config);
      const config = load(file);
      if (sub === 'mac') {
        const flags = { ...(values.nas !== undefined ? { nas: values.nas } : {}), json: values.json === true };
        await badInputExits(() => testMacCommand(config, rest.slice(1), flags, print));
        return;
      }
      let materials: Awaited<ReturnType<typeof readMaterials>>;
      try {
        materials = await readMaterials(config);
      } catch (err) {
        if (err instanceof ConfigError) return configFail(err, file);
        throw err;
      }
      // Silent: the directory's own log lines would only repeat what the steps say.
      const directory = createDirectory(config, materials, createLogger('silent'));
      const status = await badInputExits(() => testUserCommand(config, directory, rest.slice(1), { password: values.password === true }, { print, readPassword }));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'users': {
      const sub = subcommand('users', USERS_SUBCOMMANDS, rest[0]);
      const config = load(configLocation(values.config).file);
      const flags = {
        ...(values['display-name'] !== undefined ? { displayName: values['display-name'] } : {}),
        ...(values.group !== undefined ? { groups: values.group } : {}),
        ...(values['nt-hash'] !== undefined ? { ntHash: values['nt-hash'] } : {}),
      };
      const io = { print, readPassword, interactive: process.stdin.isTTY === true, audit: (event: AuditEvent) => auditFromCli(config, event) };
      await gatewayErrorsExit(() => badInputExits(() => usersCommand(config, sub, rest.slice(1), flags, io)));
      process.stdout.write('', () => process.exit(0));
      return;
    }
    case 'audit': {
      const sub = subcommand('audit', AUDIT_SUBCOMMANDS, rest[0]);
      if (values.dir !== undefined && values.config !== undefined) usage('audit: give --config or --dir, not both');
      const { config: _config, help: _help, certs: _certs, 'portal-url': _url, listen: _listen, reason: _reason, ...flags } = values;
      const status = await badInputExits(() => auditCommand(sub, rest.slice(1), flags, () => load(configLocation(values.config).file), process.stdout));
      // Let stdout drain (a large export) before exiting with the status.
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'store': {
      const sub = subcommand('store', STORE_SUBCOMMANDS, rest[0]);
      // Ctrl-C: the copy stops after the page it is writing, with its checkpoint saved; a second one kills.
      const interrupted = new AbortController();
      process.once('SIGINT', () => interrupted.abort());
      const fromEnv = migrationRedisUrl();
      const flags = {
        ...(values.to !== undefined ? { to: values.to } : {}),
        ...(values['redis-url'] !== undefined ? { redisUrl: values['redis-url'] } : {}),
        ...(fromEnv !== undefined ? { redisUrlFromEnv: fromEnv } : {}),
        ...(values['sqlite-file'] !== undefined ? { sqliteFile: values['sqlite-file'] } : {}),
        resume: values.resume === true,
        verifyOnly: values['verify-only'] === true,
      };
      const io = { print, error: (line: string) => void process.stderr.write(`enrollgate: ${line}\n`), progress: process.stderr, signal: interrupted.signal };
      const status = await badInputExits(() => storeCommand(load(configLocation(values.config).file), sub, rest.slice(1), flags, io));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'backup': {
      const status = await badInputExits(() => backupCommand(load(configLocation(values.config).file), values.to, print));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'restore': {
      const status = await badInputExits(async () => restoreCommand(load(configLocation(values.config).file), values.from, print));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'reload': {
      const { file } = configLocation(values.config);
      const found = gatewayAuditDir(file);
      if (found.dir === undefined) {
        return fail(`${found.problem}\n(config file: ${file}); the gateway cannot be found from it, so it was not told: a running one runs on as before`, EXIT_USAGE);
      }
      const error = (line: string) => void process.stderr.write(`enrollgate: ${line}\n`);
      const status = await reloadCommand({ configFile: file, auditDir: found.dir }, { print, error });
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'start': {
      const { file, named } = configLocation(values.config);
      // stdout carries the log: JSON lines and nothing else, unless a person reads it.
      const forPeople = logsForPeople();
      const say = forPeople ? print : (line: string) => void process.stderr.write(`${line}\n`);
      if (!named && !existsSync(file)) {
        say(`No configuration at ${file}: running \`enrollgate init\` first.`);
        const dir = dirname(file);
        const layout = layoutFor();
        const certsDir = layout.kind === 'package' ? layout.certsDir : resolve(dir, '..', 'certs');
        await initCommand({ dir, certsDir, ...(layout.stateDir !== undefined ? { stateDir: layout.stateDir } : {}), print: say });
      }
      const { config, sha256: configSha256 } = loadHashed(file);
      const log = createLogger(config.log.level);
      crashLog = log;
      const onTerminal = startedOnTerminal();
      // On a terminal, a pipe or systemd's journal alike: its output going nowhere does not stop the gateway.
      survivingHangup();
      // Handlers first: the gateway logs "enrollgate started" before startGateway() returns, and a
      // SIGTERM in between must still stop it cleanly instead of killing it with the default action.
      let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
      let signalled: string | undefined;
      const stop = (g: NonNullable<typeof gateway>, signal: string) => {
        process.stderr.write(`enrollgate: ${signal}, stopping\n`);
        setTimeout(() => fail(`still stopping after ${STOP_TIMEOUT_MS / 1000} s; exiting anyway`, EXIT_FAILURE), STOP_TIMEOUT_MS).unref();
        g.stop(signal).then(
          () => process.exit(0),
          (err: unknown) => fail(`stopping failed: ${err instanceof Error ? err.message : String(err)}`, EXIT_FAILURE),
        );
      };
      const onSignal = (signal: string) => {
        if (signalled) return;
        signalled = signal;
        if (gateway) stop(gateway, signal); // else: stopped as soon as it has started
      };
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      process.once('SIGINT', () => onSignal('SIGINT'));
      // SIGHUP (systemctl reload, `enrollgate reload`) reads the config again; its report is
      // what `enrollgate reload` waits for. One during start-up is answered once started. But
      // the terminal a gateway was started from sends it too, when it is closed: that one stops it.
      let reloads = 0;
      let hungUp = false;
      const reload = (g: NonNullable<typeof gateway>) => {
        const number = ++reloads;
        void g
          .reload()
          .catch((err: unknown) => {
            log.error({ err, event: 'config.reload_failed' }, 'the reload failed');
            return { ok: false as const, file, message: `the reload failed: ${err instanceof Error ? err.message : String(err)}` };
          })
          .then((outcome) => {
            try {
              writeReloadReport(config.audit.dir, { ...outcome, pid: process.pid, number, at: new Date().toISOString() });
            } catch (err) {
              log.error({ err, event: 'config.reload_report_failed' }, 'the reload report for `enrollgate reload` could not be written');
            }
          });
      };
      process.on('SIGHUP', () => {
        if (onTerminal && !hasTerminal()) {
          log.warn({ event: 'gateway.terminal_closed' }, 'terminal closed, stopping');
          onSignal('terminal closed');
        } else if (gateway && !signalled) reload(gateway);
        else hungUp = true;
      });
      try {
        gateway = await startGateway(config, { log, configSha256 });
      } catch (err) {
        if (err instanceof ConfigError) return configFail(err, file);
        throw err;
      }
      if (signalled) stop(gateway, signalled);
      else if (forPeople) process.stdout.write(startBanner(config, gateway.ports));
      if (hungUp && !signalled) reload(gateway);
      return;
    }
  }
}

/** The subcommand of a command family (`devices block`, `audit verify`), or exit 2 naming the choices. */
function subcommand<S extends string>(family: string, choices: readonly S[], given: string | undefined): S {
  if (given !== undefined && (choices as readonly string[]).includes(given)) return given as S;
  return usage(given === undefined ? `${family}: which one? ${choices.join(', ')}` : `unknown ${family} command "${given}"`);
}

/** Runs a command whose bad arguments throw BadInputError: those exit 2 with the message. */
async function badInputExits<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof BadInputError) return fail(err.message, EXIT_USAGE);
    throw err;
  }
}

/** Runs a command whose other refusals are GatewayErrors (a users file that cannot be read): exit 1 with the message. */
async function gatewayErrorsExit<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof GatewayError) return fail(err.message, EXIT_FAILURE);
    throw err;
  }
}

/** The running gateway's log, once `start` has one: a crash goes there with its stack. */
let crashLog: Logger | undefined;

// No stack traces for the people running the command: the message (and its code) only; the
// admin's JSON log gets the whole error.
const crash = (err: unknown): never => {
  crashLog?.fatal({ err, event: 'gateway.crashed' }, 'uncaught error; exiting');
  const e = err as NodeJS.ErrnoException;
  return fail(err instanceof Error ? `${e.message}${e.code ? ` (${e.code})` : ''}` : String(err), EXIT_FAILURE);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

main(process.argv.slice(2)).catch(crash);
