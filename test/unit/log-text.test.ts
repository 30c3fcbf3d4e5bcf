import { describe, expect, it } from 'vitest';
import { textLine } from '../../src/log-text.js';

/** The terminal form of log records (logger.ts uses it when stdout is a terminal). */
describe('textLine', () => {
  const at = new Date(2026, 10, 26, 8, 5, 9, 42).toISOString();

  it('writes local time, level and message, then the other members as key=value, nested ones dotted', () => {
    const line = textLine({ level: 30, time: at, service: 'enrollgate', event: 'gateway.started', ports: { http: 8080, auth: 1812 }, store: 'sqlite /var/lib/enrollgate/state.sqlite', nasClients: 2, msg: 'enrollgate started' }, { colours: false });
    expect(line).toBe('08:05:09.042 INFO  enrollgate started  ports.http=8080 ports.auth=1812 store="sqlite /var/lib/enrollgate/state.sqlite" nasClients=2\n');
  });

  it('never passes a control character from a value or the message to the terminal', () => {
    const line = textLine({ level: 40, time: at, msg: 'bad\u001b[2Jname', user: 'x\u001b]0;owned\u0007', nas: 'ap-1' }, { colours: false });
    expect(line).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(line).toContain('user="x\\u001b]0;owned\\u0007"');
    expect(line).toContain('WARN  bad?[2Jname');
  });

  it('shows an error as type and message, and its stack from level error up', () => {
    const err = { type: 'DirectoryUnavailableError', message: 'LDAP bind failed', code: 'EG_DIRECTORY_UNAVAILABLE', stack: 'DirectoryUnavailableError: LDAP bind failed\n    at ping (ldap-directory.ts:166:5)' };
    expect(textLine({ level: 40, time: at, err, msg: 'directory not ready' }, { colours: false })).toBe(
      '08:05:09.042 WARN  directory not ready  err="DirectoryUnavailableError: LDAP bind failed (EG_DIRECTORY_UNAVAILABLE)"\n',
    );
    expect(textLine({ level: 50, time: at, err, msg: 'failed' }, { colours: false })).toContain('\n    at ping (ldap-directory.ts:166:5)\n');
  });

  it('colours the level when the terminal has colours', () => {
    expect(textLine({ level: 50, time: at, msg: 'x' }, { colours: true })).toContain('\u001b[31mERROR\u001b[0m');
  });
});
