import { Writable } from 'node:stream';
import Keyv from 'keyv';
import { describe, expect, it } from 'vitest';
import { AccountingStore, type AccountingRecord } from '../../../src/accounting/accounting-store.js';
import { validateConfig, type NasClientConfig } from '../../../src/config/load.js';
import type { Mac } from '../../../src/mac.js';
import { createLogger } from '../../../src/logger.js';
import { NasTable } from '../../../src/radius/clients.js';
import type { DynamicAuthorizationClient, DynamicAuthorizationRequest } from '../../../src/radius/dynamic-authorization.js';
import { ciscoReauthenticate, selectorAttributes, sessionTimeoutAttribute } from '../../../src/radius/dynamic-authorization-packet.js';
import { RecentAccessRequests } from '../../../src/radius/recent-access-requests.js';
import { NasNotifier } from '../../../src/radius/nas-notifier.js';
import type { Session } from '../../../src/sessions/session.js';

const MAC = 'aa:bb:cc:00:00:01' as Mac;
const NOW = new Date('2026-03-02T10:00:00Z');

function nas(name: string, address: string, extra: Record<string, unknown> = {}): NasClientConfig {
  const raw = validateConfig({ radius: { clients: [{ name, address, secret: `${name}-secret-0123456789`, ...extra }] } }).radius.clients[0]!;
  return { ...raw, secret: `${name}-secret-0123456789`, uam: undefined };
}

function setup() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const sent: DynamicAuthorizationRequest[] = [];
  const client = { send: async (r: DynamicAuthorizationRequest) => (sent.push(r), { result: 'ack' as const }), idle: async () => {} } as unknown as DynamicAuthorizationClient;
  const accounting = new AccountingStore(new Keyv(), new Keyv());
  const accessRequests = new RecentAccessRequests();
  const table = new NasTable([
    nas('wlc', '10.0.0.2', { profile: 'cisco-wlc', dynamic_authorization: { enabled: true } }),
    nas('chilli', '10.0.0.3', { profile: 'coovachilli', dynamic_authorization: { enabled: true, on_session: 'coa', port: 3800 } }),
    nas('plain', '10.0.0.4'),
  ]);
  const notifier = new NasNotifier({ nas: table, accounting, accessRequests, client, clock: { now: () => NOW }, log: createLogger('debug', sink) });
  return { notifier, sent, accounting, accessRequests, lines };
}

function record(nasName: string, status: AccountingRecord['status'], sessionId: string, at: Date, extra: Partial<AccountingRecord> = {}): AccountingRecord {
  return { sessionId, mac: MAC, nas: nasName, status, inputOctets: 0, outputOctets: 0, startedAt: at.toISOString(), updatedAt: at.toISOString(), ...extra };
}

const session: Session = { mac: MAC, user: 'alice', origin: 'enrollment', startedAt: NOW.toISOString(), endsAt: new Date(NOW.getTime() + 3600_000).toISOString() };

describe('NasNotifier', () => {
  it('sends a Cisco WLC a reauthenticate CoA naming the accounting session, to port 1700', async () => {
    const s = setup();
    await s.accounting.save(record('wlc', 'start', 'S-1', NOW, { nasIp: '10.0.0.2' }));
    const outcome = await s.notifier.tell({ kind: 'issued', session });
    expect(outcome).toEqual({ result: 'ack' });
    expect(s.sent).toHaveLength(1);
    const r = s.sent[0]!;
    expect([r.nas, r.kind, r.address, r.port, r.secret, r.timeoutMs, r.retries]).toEqual(['wlc', 'coa', '10.0.0.2', 1700, 'wlc-secret-0123456789', 1000, 3]);
    expect(r.attributes).toEqual([...selectorAttributes({ callingStationId: 'AA-BB-CC-00-00-01', acctSessionId: 'S-1', nasIp: '10.0.0.2' }), ...ciscoReauthenticate()]);
  });

  it('sends other routers a CoA with the new Session-Timeout when on_session is coa, and a Disconnect on revoke', async () => {
    const s = setup();
    await s.accounting.save(record('chilli', 'interim', 'S-2', NOW));
    await s.notifier.tell({ kind: 'issued', session });
    await s.notifier.tell({ kind: 'revoked', mac: MAC, reason: 'admin' });
    expect(s.sent.map((r) => [r.kind, r.port])).toEqual([
      ['coa', 3800],
      ['disconnect', 3800],
    ]);
    expect(s.sent[0]!.attributes.at(-1)).toEqual(sessionTimeoutAttribute(3600));
    expect(s.sent[1]!.attributes).toEqual(selectorAttributes({ callingStationId: 'AA-BB-CC-00-00-01', acctSessionId: 'S-2' }));
  });

  it('falls back to the router of the last Access-Request, without an Acct-Session-Id', async () => {
    const s = setup();
    s.accessRequests.note(MAC, 'wlc', NOW);
    await s.notifier.tell({ kind: 'issued', session });
    expect(s.sent[0]!.nas).toBe('wlc');
    expect(s.sent[0]!.attributes.slice(0, 1)).toEqual(selectorAttributes({ callingStationId: 'AA-BB-CC-00-00-01' }));
    expect(s.sent[0]!.context).toMatchObject({ found: 'access_request' });
  });

  it('prefers a newer Access-Request from another router over older accounting (the device moved)', async () => {
    const s = setup();
    await s.accounting.save(record('chilli', 'start', 'S-3', new Date(NOW.getTime() - 60_000)));
    s.accessRequests.note(MAC, 'wlc', NOW);
    await s.notifier.tell({ kind: 'issued', session });
    expect(s.sent[0]!.nas).toBe('wlc');
    // The same router asking again does not hide the accounting session.
    s.accessRequests.note(MAC, 'chilli', new Date(NOW.getTime() + 1000));
    await s.notifier.tell({ kind: 'issued', session });
    expect(s.sent[1]!.context).toMatchObject({ found: 'accounting', acctSessionId: 'S-3' });
  });

  it('forgets the accounting session at its Stop, but not at the Stop of an older one', async () => {
    const s = setup();
    await s.accounting.save(record('chilli', 'start', 'S-4', NOW));
    await s.accounting.save(record('wlc', 'start', 'S-5', NOW));
    await s.accounting.save(record('chilli', 'stop', 'S-4', NOW));
    expect(await s.accounting.whereabouts(MAC)).toMatchObject({ nas: 'wlc', sessionId: 'S-5' });
    await s.accounting.save(record('wlc', 'stop', 'S-5', NOW));
    expect(await s.accounting.whereabouts(MAC)).toBeUndefined();
  });

  it('sends nothing when no router is known or it has no dynamic authorization, and says so', async () => {
    const s = setup();
    expect(await s.notifier.tell({ kind: 'issued', session })).toBeUndefined();
    s.accessRequests.note(MAC, 'plain', NOW);
    expect(await s.notifier.tell({ kind: 'issued', session })).toBeUndefined();
    expect(s.sent).toEqual([]);
    const skipped = s.lines.filter((l) => l.event === 'dynamic_authorization.skipped');
    expect(skipped.map((l) => [l.level, l.nas])).toEqual([
      [30, undefined],
      [20, 'plain'],
    ]);
  });

  it('returns at once from the session hook and lets idle() wait for the exchange', async () => {
    const s = setup();
    s.accessRequests.note(MAC, 'wlc', NOW);
    s.notifier.sessionChanged({ kind: 'issued', session });
    expect(s.sent).toHaveLength(0);
    await s.notifier.idle();
    expect(s.sent).toHaveLength(1);
  });
});

describe('RecentAccessRequests', () => {
  it('keeps the latest router per device and forgets the least recently seen device first', () => {
    const r = new RecentAccessRequests(2);
    const [a, b, c] = ['02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c'] as Mac[];
    r.note(a!, 'one', NOW);
    r.note(b!, 'one', NOW);
    r.note(a!, 'two', NOW);
    r.note(c!, 'one', NOW);
    expect(r.size).toBe(2);
    expect(r.latest(b!)).toBeUndefined();
    expect(r.latest(a!)?.nas).toBe('two');
    expect(r.latest(c!)?.nas).toBe('one');
  });

  it('says when the same router asked before, and nothing for a new device or another router', () => {
    const r = new RecentAccessRequests(4);
    const [a, b, c] = ['02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c'] as Mac[];
    const at = (s: number) => new Date(NOW.getTime() + s * 1000);
    expect(r.note(a!, 'one', at(0))).toBeUndefined();
    expect(r.note(a!, 'one', at(5))).toBe(at(0).getTime());
    expect(r.latest(a!)).toEqual({ nas: 'one', at: at(5) });
    expect(r.note(a!, 'two', at(6))).toBeUndefined();
    expect(r.note(a!, 'two', at(7))).toBe(at(6).getTime());
    // Pushed into the older generation by two newer devices, then seen again: still known, and kept.
    r.note(b!, 'one', at(8));
    r.note(c!, 'one', at(9));
    expect(r.note(a!, 'two', at(10))).toBe(at(7).getTime());
    expect(r.latest(a!)).toEqual({ nas: 'two', at: at(10) });
  });
});
