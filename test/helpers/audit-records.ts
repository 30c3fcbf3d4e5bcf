import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/audit/record.js';
import type { TestGateway } from './gateway.js';

/** Every record a test gateway's audit trail holds so far (it writes once per event-loop turn; flush writes what is queued now). */
export function auditRecords(t: TestGateway): AuditRecord[] {
  t.gateway.audit.flush();
  const dir = t.config.audit.dir;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean))
    .map((l) => JSON.parse(l) as AuditRecord);
}
