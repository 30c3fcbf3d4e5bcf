/** The one source of "now", injected everywhere so tests can move time. */
export interface Clock {
  /** The current time. */
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
