import { describe, expect, it } from 'vitest';
import { radiusWorkersFor } from '../../../src/cli/commands/init.js';

describe('radius.workers as init writes it', () => {
  it.each([
    [1, 1], // one core: RADIUS in the main process
    [2, 2],
    [8, 8],
    [64, 16], // the schema's most
    [0, 1], // a container that reports nothing usable
  ])('%i cores → %i', (cores, workers) => {
    expect(radiusWorkersFor(cores)).toBe(workers);
  });
});
