// @ts-check
/**
 * Mutation testing (`npm run test:mutation`, docs/development.md): StrykerJS changes one
 * operator, condition or literal at a time in the modules whose mistakes cost the most,
 * and runs the unit tests that cover that spot; a mutant the tests still pass survives.
 * Survivors left alive on purpose are listed, each with its reason, in
 * stryker-survivors.md beside this file.
 *
 * Only unit tests run (vitest.mutation.config.ts names them): they need nothing but
 * openssl, and with per-test coverage each mutant reruns only the tests that reach it.
 * Too slow for every CI run, so neither `npm test` nor .ci/run calls it.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  coverageAnalysis: 'perTest',
  // The machine is shared: one test process, and the caller runs it under nice.
  concurrency: 1,
  mutate: [
    'src/radius/packet.ts',
    'src/radius/policy.ts',
    'src/portal/decide.ts',
    'src/sessions/daily-cutoff.ts',
    'src/audit/record.ts',
    'src/audit/verify.ts',
    'src/audit/checkpoint.ts',
    'src/devices/policy.ts',
    // Of the registry, the device limit: the check in enroll() and the count it reads
    // (listByOwner). The rest is storage plumbing that test/integration's store suites cover.
    'src/devices/device-registry.ts:104-133',
    'src/devices/device-registry.ts:227-233',
    'src/mac.ts',
    'src/radius/eap/tls-fragments.ts',
    'src/radius/eap/conversations.ts',
    'src/radius/eap/eap-packet.ts',
    'src/radius/eap/tls-method.ts',
    'src/radius/eap/device-certificate.ts',
    'src/radius/eap/mppe.ts',
    'src/radius/eap/ttls-avp.ts',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
  thresholds: { high: 90, low: 85, break: null },
  // Stryker would rewrite tsconfig.json's `extends` and `references` for its sandbox with
  // TypeScript's JavaScript API, which TypeScript 7 no longer has; ours has neither to
  // rewrite, so it is pointed at a file that does not exist. vitest strips types without
  // checking them, so the @ts-nocheck Stryker adds to mutated files is not needed either.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  disableTypeChecks: false,
  // `npm run test:mutation -- --incremental` reuses this file's results for the mutants
  // whose code and tests did not change since the run that wrote it.
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
