import { pino, type Logger } from 'pino';
import { textDestination } from './log-text.js';

export type { Logger };

/**
 * Paths that can hold a secret in anything we log. pino replaces them before a line
 * is written; secrets must also never be put into messages (see errors.ts).
 */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  'bind_password',
  '*.password',
  '*.secret',
  '*.token',
  '*.bind_password',
  '*.clients[*].secret',
  'radius.clients[*].secret',
  'directory.ldap.bind_password',
  'hmac_key',
  '*.hmac_key',
  'audit.hmac_key',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
];

/**
 * Whether the gateway's stdout is a terminal, where a person reads it: logs are then
 * lines of text (log-text.ts) and `start` shows a banner. Anywhere else (systemd's
 * journal, a pipe, a file) they are JSON lines, one record each, and nothing else.
 */
export function logsForPeople(): boolean {
  return process.stdout.isTTY === true;
}

/**
 * The gateway's logger: JSON lines on stdout, or text lines when stdout is a terminal
 * (logsForPeople); JSON to `destination` when one is given (tests). Redaction happens
 * before either form is written.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'enrollgate' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  // A terminal's writes are synchronous (Node: TTYs are, on Linux and macOS), so a fatal
  // line before process.exit() is not lost, as it is not with pino's own stdout destination.
  return logsForPeople() ? pino(options, textDestination(process.stdout)) : pino(options);
}
