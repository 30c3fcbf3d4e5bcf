#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/load.js';
import { layoutFor } from '../config/layout.js';
import type { AuditEvent } from '../audit/events.js';
import { BadInputError, ConfigError, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { AUDIT_SUBCOMMANDS, DEVICES_SUBCOMMANDS, isPortsFormat, PORTS_FORMATS, SESSIONS_SUBCOMMANDS, STORE_SUBCOMMANDS, TEST_SUBCOMMANDS, USAGE, USERS_SUBCOMMANDS } from './usage.js';

// Everything else is imported by the command that needs it, when it runs: `--help`, a usage
// error or `devices list` need neither the gateway (main.js) nor the Redis client nor the
// PKI. Only light modules above: errors.js so that a command's refusals are recognised.

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
/** How the process ends: process.exit, until `start` makes it terminal.js's exitProcess (a gateway may outlive its terminal). */
let exit = (code: number): never => process.exit(code);
const fail = (message: string, code = EXIT_USAGE): never => {
  process.stderr.write(`enrollgate: ${message}\n`);
  return exit(code);
};
const usage = (message: string): never => fail(`${message}\n\n${USAGE}`, EXIT_USAGE);

/** A configuration problem: exit 2 with the message, and the file it is about unless the message names it already. */
const configFail = (err: ConfigError, file: string): never => fail(err.message.includes(file) ? err.message : `${err.message}\n(config file: ${file})`);

/** The config's reader (zod, yaml): imported by the commands that read a config. */
const configModule = () => import('../config/load.js');

/** The config file --config (else $ENROLLGATE_CONFIG, else the layout's default) names. */
async function configFile(flag: string | undefined): Promise<string> {
  return (await configModule()).configLocation(flag).file;
}

/** Reads the config with the config module, or exits 2 with its problems. */
function readConfig(module: typeof import('../config/load.js'), file: string): Config {
  return readHashed(module, file).config;
}

/** readConfig, with the SHA-256 of the bytes read (what `start` logs and audits). */
function readHashed(module: typeof import('../config/load.js'), file: string): { config: Config; sha256: string } {
  try {
    return module.loadConfigHashed(file);
  } catch (err) {
    if (err instanceof ConfigError) return configFail(err, file);
    throw err;
  }
}

async function load(file: string): Promise<Config> {
  return readConfig(await configModule(), file);
}

async function loadHashed(file: string): Promise<{ config: Config; sha256: string }> {
  return readHashed(await configModule(), file);
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
  // `enrollgate audit query | head`: the reader stopped reading. Not an error of the command (its
  // own handling, if any, decides what that means); anything else on stdout is. `start` has its own.
  if (command !== 'start') process.stdout.on('error', (err: NodeJS.ErrnoException) => void (err.code === 'EPIPE' || crash(err)));

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
      const { initCommand } = await import('./commands/init.js');
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
      const file = await configFile(values.config);
      const { checkConfig, checkOnline, problemsMessage } = await import('./commands/check-config.js');
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
      if (values.format !== undefined && !isPortsFormat(values.format)) {
        usage(`--format: got ${JSON.stringify(values.format)}; expected one of ${PORTS_FORMATS.join(', ')}`);
      }
      const config = await load(await configFile(values.config));
      const { portsCommand } = await import('./commands/ports.js');
      portsCommand(config, values.format, (text) => void process.stdout.write(text));
      return;
    }
    case 'devices': {
      const sub = subcommand('devices', DEVICES_SUBCOMMANDS, rest[0]);
      const flags = { ...(values.user !== undefined ? { user: values.user } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) };
      const config = await load(await configFile(values.config));
      const { devicesCommand } = await import('./commands/devices.js');
      await badInputExits(() => devicesCommand(config, sub, rest.slice(1), flags, print));
      return;
    }
    case 'sessions': {
      const sub = subcommand('sessions', SESSIONS_SUBCOMMANDS, rest[0]);
      const flags = { ...(values.user !== undefined ? { user: values.user } : {}), ...(values.reason !== undefined ? { reason: values.reason } : {}) };
      const config = await load(await configFile(values.config));
      const { sessionsCommand } = await import('./commands/sessions.js');
      await badInputExits(() => sessionsCommand(config, sub, rest.slice(1), flags, print));
      return;
    }
    case 'test': {
      const sub = subcommand('test', TEST_SUBCOMMANDS, rest[0]);
      const wrong = sub === 'mac' ? ['password'] : ['nas', 'json'];
      const given = wrong.filter((k) => k in values);
      if (given.length > 0) usage(`test ${sub} does not take ${given.map((k) => `--${k}`).join(', ')}`);
      const file = await configFile(values.config);
      const config = await load(file);
      if (sub === 'mac') {
        const flags = { ...(values.nas !== undefined ? { nas: values.nas } : {}), json: values.json === true };
        const { testMacCommand } = await import('./commands/test-mac.js');
        await badInputExits(() => testMacCommand(config, rest.slice(1), flags, print));
        return;
      }
      const [{ createDirectory, readMaterials }, { createLogger }, { testUserCommand }, { readPassword }] = await Promise.all([
        import('../wiring.js'),
        import('../logger.js'),
        import('./commands/test-user.js'),
        import('./read-password.js'),
      ]);
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
      const config = await load(await configFile(values.config));
      const [{ usersCommand }, { readPassword }, { auditFromCli }] = await Promise.all([import('./commands/users.js'), import('./read-password.js'), import('./administration.js')]);
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
      const [{ auditCommand }, module] = await Promise.all([import('./commands/audit.js'), configModule()]);
      const status = await badInputExits(() => auditCommand(sub, rest.slice(1), flags, () => readConfig(module, module.configLocation(values.config).file), process.stdout));
      // Let stdout drain (a large export) before exiting with the status.
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'store': {
      const sub = subcommand('store', STORE_SUBCOMMANDS, rest[0]);
      // Ctrl-C: the copy stops after the page it is writing, with its checkpoint saved; a second one kills.
      const interrupted = new AbortController();
      process.once('SIGINT', () => interrupted.abort());
      const { configLocation, migrationRedisUrl } = await configModule();
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
      const config = await load(configLocation(values.config).file);
      const { storeCommand } = await import('./commands/store.js');
      const status = await badInputExits(() => storeCommand(config, sub, rest.slice(1), flags, io));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'backup': {
      const config = await load(await configFile(values.config));
      const { backupCommand } = await import('./commands/backup.js');
      const status = await badInputExits(() => backupCommand(config, values.to, print));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'restore': {
      const config = await load(await configFile(values.config));
      const { restoreCommand } = await import('./commands/backup.js');
      const status = await badInputExits(async () => restoreCommand(config, values.from, print));
      process.stdout.write('', () => process.exit(status));
      return;
    }
    case 'reload': {
      const file = await configFile(values.config);
      const { gatewayAuditDir, reloadCommand } = await import('./commands/reload.js');
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
      const { file, named } = (await configModule()).configLocation(values.config);
      const [{ createLogger, logsForPeople }, { startGateway }, { startBanner }, { takeReloadRequest, writeReloadReport }, { exitProcess, hasTerminal, startedOnTerminal, survivingHangup }] = await Promise.all([
        import('../logger.js'),
        import('../main.js'),
        import('./start-banner.js'),
        import('./commands/reload.js'),
        import('./terminal.js'),
      ]);
      exit = exitProcess;
      // stdout carries the log: JSON lines and nothing else, unless a person reads it.
      const forPeople = logsForPeople();
      const say = forPeople ? print : (line: string) => void process.stderr.write(`${line}\n`);
      if (!named && !existsSync(file)) {
        say(`No configuration at ${file}: running \`enrollgate init\` first.`);
        const dir = dirname(file);
        const layout = layoutFor();
        const certsDir = layout.kind === 'package' ? layout.certsDir : resolve(dir, '..', 'certs');
        const { initCommand } = await import('./commands/init.js');
        await initCommand({ dir, certsDir, ...(layout.stateDir !== undefined ? { stateDir: layout.stateDir } : {}), print: say });
      }
      const { config, sha256: configSha256 } = await loadHashed(file);
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
          // Once its terminal is gone the gateway cannot exit 0 (see exitProcess): it ends by SIGHUP.
          () => exit(0),
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
      /** The requests of `enrollgate reload` commands whose SIGHUP came during start-up. */
      const waiting: string[] = [];
      const reload = (g: NonNullable<typeof gateway>, requests: readonly string[]) => {
        const number = ++reloads;
        void g
          .reload()
          .catch((err: unknown) => {
            log.error({ err, event: 'config.reload_failed' }, 'the reload failed');
            return { ok: false as const, file, message: `the reload failed: ${err instanceof Error ? err.message : String(err)}` };
          })
          .then((outcome) => {
            try {
              writeReloadReport(config.audit.dir, { ...outcome, pid: process.pid, number, at: new Date().toISOString(), requests });
            } catch (err) {
              log.error({ err, event: 'config.reload_report_failed' }, 'the reload report for `enrollgate reload` could not be written');
            }
          });
      };
      process.on('SIGHUP', () => {
        // An `enrollgate reload` says so in a request: its SIGHUP is a reload even when the terminal
        // is gone, as it is for a gateway that outlived it (a background job whose shell ended).
        const found = takeReloadRequest(config.audit.dir);
        if (found && 'dropped' in found) log.warn({ event: 'config.reload_request_dropped' }, `${found.dropped}; not taken as one`);
        const request = found && 'request' in found ? [found.request.nonce] : [];
        if (request.length === 0 && onTerminal && !hasTerminal()) {
          log.warn({ event: 'gateway.terminal_closed' }, 'terminal closed, stopping');
          onSignal('terminal closed');
        } else if (gateway && !signalled) reload(gateway, request);
        else {
          hungUp = true;
          waiting.push(...request);
        }
      });
      try {
        gateway = await startGateway(config, { log, configSha256 });
      } catch (err) {
        if (err instanceof ConfigError) return configFail(err, file);
        throw err;
      }
      if (signalled) stop(gateway, signalled);
      else if (forPeople) process.stdout.write(startBanner(config, gateway.ports));
      if (hungUp && !signalled) reload(gateway, waiting);
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
