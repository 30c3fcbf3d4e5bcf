import { describe, expect, it } from 'vitest';
import { BackoffDirectory } from '../../../src/directory/backoff-directory.js';
import type { Directory } from '../../../src/directory/directory.js';
import { DirectoryUnavailableError, InvalidCredentialsError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';

/** A directory that is down until told otherwise, counting the calls that reach it. */
function fake() {
  const state = { up: false, calls: 0 };
  const directory: Directory = {
    async authenticate(username, password) {
      state.calls++;
      if (!state.up) throw new DirectoryUnavailableError();
      if (password !== 'right') throw new InvalidCredentialsError();
      return { username, groups: [] };
    },
    async lookup(username) {
      state.calls++;
      if (!state.up) throw new DirectoryUnavailableError();
      return { username, groups: [] };
    },
    async ping() {
      state.calls++;
      if (!state.up) throw new DirectoryUnavailableError();
    },
    async close() {},
  };
  return { state, directory };
}

describe('BackoffDirectory', () => {
  it('after a second failure in a row refuses at once while backing off (1 s, 2 s …), tries again after, and recovers on one success', async () => {
    const { state, directory } = fake();
    let now = 0;
    const d = new BackoffDirectory(directory, { clock: { now: () => new Date(now) }, log: createLogger('silent') });
    // One failure is a blip: the next login asks the directory again.
    await expect(d.authenticate('a', 'right')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    await expect(d.authenticate('a', 'right')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect(state.calls).toBe(2);
    // Within the first second: refused without asking the directory.
    now = 500;
    await expect(d.authenticate('a', 'right')).rejects.toThrow('next try is in 1 second');
    expect(state.calls).toBe(2);
    now = 1000;
    await expect(d.authenticate('a', 'right')).rejects.toBeInstanceOf(DirectoryUnavailableError);
    expect(state.calls).toBe(3);
    now = 2500;
    await expect(d.authenticate('a', 'right')).rejects.toThrow('next try is in 1 second');
    expect(state.calls).toBe(3);
    // Readiness asks the directory anyway: recovery shows at once.
    state.up = true;
    await d.ping();
    expect(state.calls).toBe(4);
    await expect(d.authenticate('a', 'right')).resolves.toMatchObject({ username: 'a' });
  });

  it('does not count a wrong password as the directory failing', async () => {
    const { state, directory } = fake();
    state.up = true;
    const d = new BackoffDirectory(directory, { clock: { now: () => new Date(0) }, log: createLogger('silent') });
    for (let i = 0; i < 3; i++) await expect(d.authenticate('a', 'wrong')).rejects.toBeInstanceOf(InvalidCredentialsError);
    await expect(d.authenticate('a', 'right')).resolves.toMatchObject({ username: 'a' });
    expect(state.calls).toBe(4);
  });
});
