import { describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../../src/radius/workers.js';

/** RADIUS workers start with the gateway's OpenSSL settings unless an OpenSSL configuration was chosen for the gateway. */
describe('workerExecArgv', () => {
  const settings = new URL('../../../deploy/openssl.cnf', import.meta.url).pathname;

  it('adds deploy/openssl.cnf to the gateway\'s own options', () => {
    expect(workerExecArgv(['--enable-source-maps'], {}, settings)).toEqual(['--enable-source-maps', `--openssl-config=${settings}`]);
  });

  it('leaves an OpenSSL configuration the gateway was started with to decide', () => {
    expect(workerExecArgv(['--openssl-config=/etc/ssl/mine.cnf'], {}, settings)).toEqual(['--openssl-config=/etc/ssl/mine.cnf']);
    expect(workerExecArgv(['--openssl-shared-config'], {}, settings)).toEqual(['--openssl-shared-config']);
    expect(workerExecArgv([], { NODE_OPTIONS: '--max-old-space-size=512 --openssl-config=/etc/ssl/mine.cnf' }, settings)).toEqual([]);
    expect(workerExecArgv([], { OPENSSL_CONF: '/etc/ssl/mine.cnf' }, settings)).toEqual([]);
  });

  it('starts the workers without it when the file is missing (a package without deploy/), rather than not at all', () => {
    expect(workerExecArgv([], {}, '/nonexistent/openssl.cnf')).toEqual([]);
  });

  it('ships a file that asks for one TLS 1.3 session ticket, in the section Node reads', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(settings, 'utf8');
    expect(text).toMatch(/^nodejs_conf = (\S+)$/m);
    expect(text).toMatch(/^NumTickets = 1$/m);
  });
});
