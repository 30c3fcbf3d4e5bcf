import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The current sources, for a test that runs them in a process of its own: the CLI is
 * `node --import TSX_LOADER CLI_SOURCE …`, and a script given to `node -e` imports
 * `sourceUrl('audit/audit-log.ts')`. Never dist/: it is only as new as the last build
 * (`npx vitest run <file>` does not build), so a test of it passes on yesterday's code, and
 * it is shared by everybody working in the checkout. `node --import` keeps the process
 * the test's own child, so a signal reaches it directly and its exit code is its own.
 */
const require = createRequire(import.meta.url);

/** tsx's loader, for `node --import`. */
export const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** src/cli/index.ts: `enrollgate`. */
export const CLI_SOURCE = join(ROOT, 'src', 'cli', 'index.ts');

/**
 * How long one run of the CLI from the sources may take: 1.3 s on an idle 2-core machine,
 * up to 4 s while its cores run other tests too (tsx compiles the sources as they are
 * imported; dist/ took 0.5 s), and several times that on a slower machine. A test running
 * the CLI n times is given n times this (at once or in a row, the work is the same).
 */
export const SOURCE_RUN_MS = 15_000;

/** The file URL of a module under src/ (`sourceUrl('logger.ts')`), for a script run with TSX_LOADER to import. */
export function sourceUrl(path: string): string {
  return pathToFileURL(join(ROOT, 'src', path)).href;
}

/** What one run of the CLI printed, and how it ended (null: killed past its deadline). */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `enrollgate …args` from the sources in `cwd`, without $ENROLLGATE_CONFIG (so only a
 * --config in `args` names one), `input` on its stdin; resolves when it exits, killed
 * past `timeoutMs` (default SOURCE_RUN_MS).
 */
export function runCli(args: readonly string[], o: { cwd: string; input?: string; timeoutMs?: number }): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.ENROLLGATE_CONFIG;
    const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_SOURCE, ...args], { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
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
