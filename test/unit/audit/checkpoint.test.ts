import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCheckpoint, writeCheckpoint, writeCheckpointSync } from '../../../src/audit/checkpoint.js';
import { GENESIS, HEAD_FILE, type AuditHead } from '../../../src/audit/record.js';

/** audit-head.json: written whole through a temporary file, and read back strictly. */
const SHA = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const HEAD: AuditHead = { seq: 42, sha256: SHA, file: 'audit-2026-11-26.jsonl', line: 7 };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-checkpoint-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writeHead = (text: string) => writeFileSync(join(dir, HEAD_FILE), text);

describe('writing the checkpoint', () => {
  it('writes one line of JSON, readable by its owner only, and leaves no temporary file', async () => {
    writeFileSync(join(dir, 'audit-2026-11-26.jsonl'), 'x\n');
    await writeCheckpoint(dir, HEAD, ['audit-2026-11-26.jsonl']);
    expect(readFileSync(join(dir, HEAD_FILE), 'utf8')).toBe(`${JSON.stringify(HEAD)}\n`);
    expect(statSync(join(dir, HEAD_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['audit-2026-11-26.jsonl', HEAD_FILE]);
  });

  it('replaces the one before', async () => {
    writeCheckpointSync(dir, { seq: 0, sha256: GENESIS, file: '', line: 0 });
    await writeCheckpoint(dir, HEAD, []);
    expect(readCheckpoint(dir)).toEqual({ head: HEAD });
  });

  it('fails when a daily file it must flush first is not there', async () => {
    await expect(writeCheckpoint(dir, HEAD, ['audit-2026-11-26.jsonl'])).rejects.toMatchObject({ code: 'ENOENT' });
    expect(existsSync(join(dir, HEAD_FILE))).toBe(false);
  });

  it("writes a new trail's first checkpoint synchronously, the same way", () => {
    const first = { seq: 0, sha256: GENESIS, file: 'audit-2026-11-26.jsonl', line: 0 };
    writeCheckpointSync(dir, first);
    expect(readFileSync(join(dir, HEAD_FILE), 'utf8')).toBe(`${JSON.stringify(first)}\n`);
    expect(statSync(join(dir, HEAD_FILE)).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual([HEAD_FILE]);
  });
});

describe('readCheckpoint', () => {
  it('reads a checkpoint, with or without its HMAC', () => {
    writeHead(JSON.stringify(HEAD));
    expect(readCheckpoint(dir)).toEqual({ head: HEAD });
    writeHead(JSON.stringify({ ...HEAD, hmac: SHA }));
    expect(readCheckpoint(dir)).toEqual({ head: { ...HEAD, hmac: SHA } });
    writeHead(JSON.stringify({ ...HEAD, seq: 0, line: 0 }));
    expect(readCheckpoint(dir)).toEqual({ head: { ...HEAD, seq: 0, line: 0 } });
  });

  it('says when there is none', () => {
    expect(readCheckpoint(dir)).toEqual({ missing: true });
  });

  it('names the error when it cannot be read', () => {
    mkdirSync(join(dir, HEAD_FILE));
    expect(readCheckpoint(dir)).toEqual({ problem: 'could not be read (EISDIR)' });
  });

  it('refuses text that is not JSON', () => {
    writeHead('{"seq":42,');
    expect(readCheckpoint(dir)).toEqual({ problem: 'is not JSON' });
  });

  it.each([
    ['null', null],
    ['a number', 42],
    ['no seq', { ...HEAD, seq: undefined }],
    ['seq -1', { ...HEAD, seq: -1 }],
    ['seq 1.5', { ...HEAD, seq: 1.5 }],
    ['seq as text', { ...HEAD, seq: '42' }],
    ['no sha256', { ...HEAD, sha256: undefined }],
    ['sha256 as a number', { ...HEAD, sha256: 1 }],
    ['sha256 as a list holding the hash', { ...HEAD, sha256: [SHA] }],
    ['sha256 of 63 hex digits', { ...HEAD, sha256: SHA.slice(1) }],
    ['sha256 with a 65th hex digit', { ...HEAD, sha256: `${SHA}0` }],
    ['no file', { ...HEAD, file: undefined }],
    ['file as a number', { ...HEAD, file: 1 }],
    ['no line', { ...HEAD, line: undefined }],
    ['line 1.5', { ...HEAD, line: 1.5 }],
    ['hmac as a number', { ...HEAD, hmac: 1 }],
    ['hmac as a list holding a hash', { ...HEAD, hmac: [SHA] }],
    ['hmac of 63 hex digits', { ...HEAD, hmac: SHA.slice(1) }],
    ['hmac with a 65th hex digit', { ...HEAD, hmac: `0${SHA}` }],
  ])('refuses a checkpoint with %s', (_name, value) => {
    writeHead(JSON.stringify(value));
    expect(readCheckpoint(dir)).toEqual({ problem: 'lacks seq, sha256, file or line' });
  });
});
