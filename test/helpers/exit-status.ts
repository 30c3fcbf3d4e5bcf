import { writeFileSync } from 'node:fs';

/**
 * Loaded into a gateway that is not the test's own child (`node --import tsx --import
 * this-file`): one started in a terminal by script(1), which the test kills to close that
 * terminal, leaves the gateway to whoever adopts it. As it exits, it writes the status it
 * exits with into the file EXIT_STATUS_FILE_ENV names, for the test to read. A process
 * killed by a signal writes none.
 */
export const EXIT_STATUS_FILE_ENV = 'ENROLLGATE_TEST_EXIT_STATUS_FILE';

const file = process.env[EXIT_STATUS_FILE_ENV];
if (file) process.on('exit', (code) => writeFileSync(file, String(code)));
