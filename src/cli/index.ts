#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configPath, loadConfig, type Config } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { readMaterials, startGateway } from '../main.js';
import { CONFIG_NAME, initCommand } from './commands/init.js';

const USAGE = `enrollgate: captive-portal Wi-Fi enrollment gateway

Usage:
  enrollgate init [--dir DIR] [--certs DIR] [--portal-url URL] [--listen ADDRESS]
      Create DIR/${CONFIG_NAME} (default DIR: ./data), a users file, a RADIUS secret,
      and the gateway's CA and server certificate (default: ./certs, or DIR/certs with --dir).
  enrollgate start [--config FILE]
      Run the gateway. FILE defaults to $ENROLLGATE_CONFIG, else ./data/${CONFIG_NAME};
      when neither exists and no FILE is given, runs init first.
  enrollgate check-config [--config FILE]
      Validate the configuration and the files it names, then exit.
`;

const print = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (message: string, code = 2): never => {
  process.stderr.write(`enrollgate: ${message}\n`);
  process.exit(code);
};

function load(file: string): Config {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return fail(`${err.message}\n(config file: ${file})`);
    throw err;
  }
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      dir: { type: 'string' },
      certs: { type: 'string' },
      'portal-url': { type: 'string' },
      listen: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return print(USAGE);
  if (rest.length > 0) fail(`unexpected arguments: ${rest.join(' ')}\n\n${USAGE}`);

  switch (command) {
    case 'init': {
      const dir = resolve(values.dir ?? 'data');
      const certs = resolve(values.certs ?? (values.dir ? `${dir}/certs` : 'certs'));
      await initCommand({
        dir,
        certsDir: certs,
        ...(values['portal-url'] ? { portalUrl: values['portal-url'] } : {}),
        ...(values.listen ? { listen: values.listen } : {}),
        print,
      });
      return;
    }
    case 'check-config': {
      const file = configPath(values.config);
      const config = load(file);
      try {
        await readMaterials(config);
      } catch (err) {
        if (err instanceof ConfigError) fail(`${err.message}\n(config file: ${file})`);
        throw err;
      }
      print(`${file}: OK (${config.radius.clients.length} RADIUS client(s), directory: ${config.directory.kind}, store: ${config.store.kind})`);
      return;
    }
    case 'start': {
      const file = configPath(values.config);
      const chosen = values.config !== undefined || process.env.ENROLLGATE_CONFIG !== undefined;
      if (!existsSync(file) && !chosen) {
        print(`No configuration at ${file}: running \`enrollgate init\` first.`);
        const dir = dirname(file);
        await initCommand({ dir, certsDir: resolve(dir, '..', 'certs'), print });
      }
      const config = load(file);
      let gateway: Awaited<ReturnType<typeof startGateway>>;
      try {
        gateway = await startGateway(config);
      } catch (err) {
        if (err instanceof ConfigError) return fail(`${err.message}\n(config file: ${file})`);
        throw err;
      }
      const shutdown = (signal: string) => {
        gateway.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
        process.stderr.write(`enrollgate: ${signal}, stopping\n`);
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  fail(err instanceof Error ? err.message : String(err), 1);
});
