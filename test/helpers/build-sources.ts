import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory this vitest run compiled src/ into (build-sources.ts); source.ts's cliEntry() is in it. */
    sourceBuild: string;
  }
}

/** The repository's root directory. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A build directory's name: `.test-build-<pid of the vitest run>`. A direct child of the root,
 * because the compiled code finds views/, radius-dictionaries/, deploy/ and package.json as
 * `../` from its own directory, as dist/'s does.
 */
const BUILD_DIR = /^\.test-build-(\d+)$/;

/** Whether process `pid` is running (EPERM: it is, but someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the build directories of runs that ended without their teardown (killed, Ctrl-C twice). */
function removeLeftovers(): void {
  for (const name of readdirSync(ROOT)) {
    const pid = BUILD_DIR.exec(name)?.[1];
    if (pid !== undefined && !alive(Number(pid))) rmSync(join(ROOT, name), { recursive: true, force: true });
  }
}

/**
 * Compiles src/ into an empty `dir` with the package's build settings; throws tsc's own
 * messages when the sources do not compile, so the run stops there rather than in every
 * test that runs the CLI.
 */
async function compile(dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', dir, '--pretty', 'false'], { cwd: ROOT });
  } catch (err) {
    // tsc writes what it can compile even then; nobody is to run that.
    rmSync(dir, { recursive: true, force: true });
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`src/ does not compile (tsc -p tsconfig.build.json), so no test runs:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/**
 * vitest's globalSetup for the suites that run enrollgate as a process of its own
 * (vitest.config.ts): the current sources compiled once for this run, into a directory
 * no other run or build uses, given to the tests as inject('sourceBuild') and removed at
 * the end. Never dist/, which is as old as the last build and shared by everyone working in
 * the checkout; never tsx either, whose loader works on every module in every process (the
 * CLI took 2.3 s through it on an idle 2-core machine, 0.9 s from here: source.ts's
 * SOURCE_RUN_MS has the figures under load). tsc takes 4 s idle, 13 to 27 s at a load of 8
 * (6 s of CPU), once per run. In watch mode each rerun compiles again.
 */
export default async function buildSources(project: TestProject): Promise<() => void> {
  removeLeftovers();
  const dir = join(ROOT, `.test-build-${process.pid}`);
  await compile(dir);
  project.provide('sourceBuild', dir);
  project.onTestsRerun(() => compile(dir));
  return () => rmSync(dir, { recursive: true, force: true });
}
