import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run test:mutation` runs (stryker.config.mjs): the unit tests of the
 * mutated modules and of their callers, as vitest.config.ts's unit project runs them
 * (needing only openssl). The rest of test/unit (views, config, PKI, CLI) reaches none
 * of those modules' logic and would only slow each run.
 *
 * The files are chosen here rather than with Stryker's `testFiles`: with `testFiles`,
 * Stryker 9.6 activates a mutant of module-level code (a regular expression, a table)
 * only after the module has loaded, so the tests never see it and it is reported as
 * surviving whatever they check.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: [
      'test/unit/radius/**/*.test.ts',
      'test/unit/portal/**/*.test.ts',
      'test/unit/sessions/**/*.test.ts',
      'test/unit/audit/**/*.test.ts',
      'test/unit/devices/**/*.test.ts',
      'test/unit/mac.test.ts',
    ],
    globalSetup: ['test/helpers/require-unit-peers.ts'],
  },
});
