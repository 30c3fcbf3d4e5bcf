import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/audit/record.js';
import { csvRow, exportChunks } from '../../../src/audit/query.js';

/**
 * The CSV export of the audit trail: one line per record whatever a person typed as
 * their name, no control character in the file, and the spreadsheet-formula guard kept.
 */
const record = (user: string, extra: Record<string, unknown> = {}): AuditRecord => ({
  seq: 7,
  at: '2026-11-26T08:00:00.000Z',
  type: 'login.failed',
  outcome: 'failure',
  prev: 'x',
  user,
  code: 'EG_INVALID_CREDENTIALS',
  ...extra,
});

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe('the audit CSV export', () => {
  it('writes NUL, CR, LF and ESC in a user name as visible escapes, never raw', () => {
    const user = 'eve\u0000\r\n2,2026-01-01,admin.logged_in\u001b[2J';
    const row = csvRow(record(user));
    expect(row).not.toMatch(CONTROLS);
    expect(row).toBe(
      '7,2026-11-26T08:00:00.000Z,login.failed,failure,"eve\\u0000\\u000d\\u000a2,2026-01-01,admin.logged_in\\u001b[2J",,,,,"{""code"":""EG_INVALID_CREDENTIALS""}"',
    );
    // The export as a whole: the header and one line for the one record.
    const text = [...exportChunks([{ record: record(user), line: '', file: 'f' }], 'csv')].join('');
    expect(text.split('\n')).toEqual(['seq,at,type,outcome,user,by,mac,nas,reason,details', row, '']);
  });

  it('escapes DEL, C1 controls and U+2028/U+2029, in every column (details too), and leaves other text alone', () => {
    const row = csvRow(record('a\u007fb\u0085c\u2028d', { reason: 'tab\there', note: 'line\u2029break' }));
    expect(row).not.toMatch(CONTROLS);
    expect(row).toContain(',a\\u007fb\\u0085c\\u2028d,');
    expect(row).toContain(',tab\\u0009here,');
    expect(row).toContain('""note"":""line\\u2029break""');
    expect(csvRow(record('jürgen.müller DOMAIN\\alice'))).toContain(',jürgen.müller DOMAIN\\alice,');
  });

  it('keeps the spreadsheet-formula guard, and a leading tab or CR cannot start a formula', () => {
    expect(csvRow(record('=HYPERLINK("http://x")'))).toContain(`,"'=HYPERLINK(""http://x"")",`);
    for (const lead of ['+', '-', '@']) expect(csvRow(record(`${lead}1+1`))).toContain(`,'${lead}1+1,`);
    expect(csvRow(record('\t=1+1'))).toContain(',\\u0009=1+1,');
    expect(csvRow(record('\r=1+1'))).toContain(',\\u000d=1+1,');
  });
});

describe('the audit CSV export: who acted', () => {
  it('has the actor in its by column: by, or the admin of the console’s and API’s own records', () => {
    const blocked = csvRow({ seq: 8, at: '2026-11-26T08:00:00.000Z', type: 'device.blocked', outcome: 'success', prev: 'x', mac: '3c:a0:00:00:00:01', user: 'employee', by: 'boss', reason: 'stolen', surface: 'console' });
    expect(blocked).toBe('8,2026-11-26T08:00:00.000Z,device.blocked,success,employee,boss,3c:a0:00:00:00:01,,stolen,"{""surface"":""console""}"');
    const loggedIn = csvRow({ seq: 9, at: '2026-11-26T08:00:01.000Z', type: 'admin.logged_in', outcome: 'success', prev: 'x', admin: 'boss', role: 'admin' });
    expect(loggedIn).toBe('9,2026-11-26T08:00:01.000Z,admin.logged_in,success,,boss,,,,"{""role"":""admin""}"');
  });
});
