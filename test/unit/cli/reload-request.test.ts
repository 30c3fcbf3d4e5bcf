import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { leaveReloadRequest, REQUEST_FRESH_MS, takeReloadRequest } from '../../../src/cli/commands/reload.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-reload-request-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const NOW = Date.parse('2026-03-02T10:00:00.000Z');
const file = () => join(dir, 'reload-request');
const leave = (content: unknown) => writeFileSync(file(), typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });

describe('takeReloadRequest (the gateway, at a SIGHUP)', () => {
  it('none: undefined, and the SIGHUP is judged by the terminal alone', () => {
    expect(takeReloadRequest(dir, NOW)).toBeUndefined();
  });

  it('a fresh request is taken once: the file goes, a second SIGHUP finds none', () => {
    const request = { pid: 4242, nonce: 'n1', at: new Date(NOW - REQUEST_FRESH_MS).toISOString() };
    leave(request);
    expect(takeReloadRequest(dir, NOW)).toEqual({ request });
    expect(existsSync(file())).toBe(false);
    expect(takeReloadRequest(dir, NOW)).toBeUndefined();
  });

  it('one older than the reload command waits (a crashed reload left it) is dropped, and removed', () => {
    leave({ pid: 4242, nonce: 'n1', at: new Date(NOW - REQUEST_FRESH_MS - 1).toISOString() });
    expect(takeReloadRequest(dir, NOW)).toEqual({ dropped: `${file()} (process 4242, 2026-03-02T09:59:29.999Z) was more than 30 s old` });
    expect(existsSync(file())).toBe(false);
  });

  it('one dated as far ahead (the clock set back since) is dropped too', () => {
    leave({ pid: 4242, nonce: 'n1', at: new Date(NOW + REQUEST_FRESH_MS + 1).toISOString() });
    expect(takeReloadRequest(dir, NOW)).toMatchObject({ dropped: expect.stringContaining('was more than 30 s old') });
  });

  it.each([['not JSON', '{"pid":'], ['no nonce', { pid: 1, at: new Date(NOW).toISOString() }], ['a time that is none', { pid: 1, nonce: 'n', at: 'yesterday' }], ['empty', '']])(
    'an unreadable one (%s) is dropped, and removed',
    (_what, content) => {
      leave(content);
      expect(takeReloadRequest(dir, NOW)).toEqual({ dropped: `${file()} could not be read as a reload request` });
      expect(existsSync(file())).toBe(false);
    },
  );
});

describe('leaveReloadRequest (enrollgate reload, before its SIGHUP)', () => {
  it('leaves a request the gateway can read as its own user, whatever the umask of who runs it (sudo under a hardened 077)', async () => {
    const before = process.umask(0o077);
    try {
      const nonce = await leaveReloadRequest(dir, Date.now() + 1000);
      expect(nonce).toMatch(/^[0-9a-f]{32}$/);
      expect(statSync(file()).mode & 0o777).toBe(0o644);
      expect(takeReloadRequest(dir)).toMatchObject({ request: { nonce, pid: process.pid } });
    } finally {
      process.umask(before);
    }
  });
});
