import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inject } from 'vitest';

/**
 * The current sources, for a test that runs them in a process of its own: the CLI is
 * `node cliEntry() …`, compiled from src/ for this vitest run by build-sources.ts (a
 * globalSetup of vitest.config.ts), and a script given to `node -e` imports
 * `builtUrl('audit/audit-log.js')`. Never dist/: it is only as new as the last build
 * (`npx vitest run <file>` does not build it), so a test of it passes on yesterday's code, and
 * it is shared by everybody working in the checkout. `node <file>` keeps the process the
 * test's own child, so a signal reaches it directly and its exit code is its own.
 */
const require = createRequire(import.meta.url);

/** tsx's loader, for `node --import`: a test's own .ts module loaded into a process (helpers/stop-at-answer.ts). */
export const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The directory this vitest run compiled src/ into. */
function build(): string {
  const dir = inject('sourceBuild');
  if (dir === undefined) throw new Error("no build of src/ to run: this test file must be in vitest.config.ts's with-peers project, whose globalSetup compiles it");
  return dir;
}

/** `enrollgate` as this run compiled it (src/cli/index.ts): `node cliEntry() …args`. */
export function cliEntry(): string {
  return join(build(), 'cli', 'index.js');
}

/**
 * How long one run of the CLI may take: `--help` took 0.9 s on an idle 2-core machine and
 * `check-config` 2 to 7 s while its cores ran other suites too (a load of 8), against 2.3 s
 * and 3 to 10 s through tsx; a slower machine takes several times the first. A test running
 * the CLI n times is given n times this (at once or in a row, the work is the same).
 */
export const SOURCE_RUN_MS = 15_000;

/** The file URL of a module as this run compiled it (`builtUrl('logger.js')` for src/logger.ts), for a `node -e` script to import. */
export function builtUrl(path: string): string {
  return pathToFileURL(join(build(), path)).href;
}

/** What one run of the CLI printed, and how it ended (null: killed past its deadline). */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `enrollgate …args` from this run's build in `cwd`, without $ENROLLGATE_CONFIG (so only a
 * --config in `args` names one), `input` on its stdin; resolves when it exits, killed
 * past `timeoutMs` (default SOURCE_RUN_MS).
 */
export function runCli(args: readonly string[], o: { cwd: string; input?: string; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.ENROLLGATE_CONFIG;
    const child = spawn(process.execPath, [cliEntry(), ...args], { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? SOURCE_RUN_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}
