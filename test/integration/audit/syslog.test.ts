import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { SyslogForwarder } from '../../../src/audit/syslog.js';
import { verifyAuditDir } from '../../../src/audit/verify.js';
import { createLogger } from '../../../src/logger.js';
import { createCa, issueServerCertificate } from '../../../src/pki/ca.js';
import { freeTcpPort } from '../../helpers/ports.js';

/**
 * Forwarding to a SIEM, received by real listeners in the test (UDP, TCP, TLS):
 * RFC 5424 messages carrying each record, octet-counted on streams; a relay that is
 * down at first gets the records once it is up, and the local trail is whole anyway.
 */
const quiet = createLogger('silent');
const RFC5424 = /^<(\d+)>1 (\S+) (\S+) enrollgate (\d+) (\S+) - (\{.*\})$/;
const settings = { queue_limit: 1000, facility: 13 } as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'enrollgate-syslog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Messages from an octet-counted stream (RFC 6587 §3.4.1), as octets. */
function octetCountedBytes(onMessage: (m: Buffer) => void): (chunk: Buffer) => void {
  let buffered = Buffer.alloc(0);
  return (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const space = buffered.indexOf(0x20);
      if (space < 0) return;
      const length = Number(buffered.subarray(0, space).toString());
      if (buffered.length < space + 1 + length) return;
      onMessage(buffered.subarray(space + 1, space + 1 + length));
      buffered = buffered.subarray(space + 1 + length);
    }
  };
}

/** Messages from an octet-counted stream, as text. */
function octetCounted(onMessage: (m: string) => void): (chunk: Buffer) => void {
  return octetCountedBytes((m) => onMessage(m.toString()));
}

function waitFor(messages: string[], n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (messages.length >= n ? resolve() : setImmediate(check));
    check();
  });
}

async function writeRecords(forward: SyslogForwarder, n: number): Promise<void> {
  const audit = AuditLog.open({ dir, clock: { now: () => new Date() }, log: quiet, forward: forward.forward });
  for (let i = 0; i < n; i++) audit.record({ type: i % 2 ? 'radius.rejected' : 'radius.accepted', nas: 'wlc-1', mac: '3c:a0:00:00:00:01', reason: `r${i}` });
  await audit.close();
}

describe('syslog forwarding', () => {
  it('UDP: one RFC 5424 datagram per record, MSGID the event type, severity by outcome', async () => {
    const server = createSocket('udp4');
    const messages: string[] = [];
    server.on('message', (m) => messages.push(m.toString()));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    const forward = new SyslogForwarder({ ...settings, host: '127.0.0.1', port: server.address().port, transport: 'udp' }, quiet);
    await writeRecords(forward, 4);
    await waitFor(messages, 4);
    await forward.close();
    server.close();
    const [accepted, rejected] = messages.map((m) => RFC5424.exec(m)!);
    expect(accepted![1]).toBe(String(13 * 8 + 6));
    expect(accepted![5]).toBe('radius.accepted');
    expect(rejected![1]).toBe(String(13 * 8 + 4));
    expect(JSON.parse(rejected![6]!)).toMatchObject({ seq: 2, type: 'radius.rejected', reason: 'r1' });
  });

  it('TCP: octet-counted; a relay that is down at first gets every record once it is up', async () => {
    const port = await freeTcpPort();
    const forward = new SyslogForwarder({ ...settings, host: '127.0.0.1', port, transport: 'tcp' }, quiet, 20);
    // Nobody listens yet: the records are written locally, forwarding retries.
    await writeRecords(forward, 50);
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 50 });
    expect(forward.sent).toBe(0);

    const messages: string[] = [];
    const server: Server = createTcpServer((socket) => socket.on('data', octetCounted((m) => messages.push(m))));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await waitFor(messages, 50);
    await forward.close();
    await new Promise((resolve) => server.close(resolve));
    expect(messages.map((m) => JSON.parse(RFC5424.exec(m)![6]!).seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('TLS: verifies the relay against the configured CA', async () => {
    const ca = createCa({ commonName: 'SIEM test CA' });
    const leaf = issueServerCertificate(ca, { names: ['127.0.0.1'] });
    const caFile = join(dir, 'siem-ca.pem');
    writeFileSync(caFile, ca.certPem);
    const messages: string[] = [];
    const server = createTlsServer({ cert: leaf.certPem, key: leaf.keyPem }, (socket) => socket.on('data', octetCounted((m) => messages.push(m))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const forward = new SyslogForwarder({ ...settings, host: '127.0.0.1', port, transport: 'tls', ca_file: caFile }, quiet);
    await writeRecords(forward, 3);
    await waitFor(messages, 3);
    await forward.close();
    await new Promise((resolve) => server.close(resolve));
    expect(messages.map((m) => RFC5424.exec(m)![5])).toEqual(['radius.accepted', 'radius.rejected', 'radius.accepted']);
  });

  /** Two login failures, one by a user with a non-ASCII name, as the relay receives them (octets). */
  async function unicodeRecords(forward: SyslogForwarder, received: Buffer[]): Promise<Array<{ header: string; msg: Buffer }>> {
    const audit = AuditLog.open({ dir, clock: { now: () => new Date() }, log: quiet, forward: forward.forward });
    audit.record({ type: 'login.failed', user: 'jürgen.müller', code: 'EG_INVALID_CREDENTIALS' });
    audit.record({ type: 'login.failed', user: 'juergen', code: 'EG_INVALID_CREDENTIALS' });
    await audit.close();
    await new Promise<void>((resolve) => {
      const check = () => (received.length >= 2 ? resolve() : setImmediate(check));
      check();
    });
    await forward.close();
    return received.map((m) => {
      // HEADER SP STRUCTURED-DATA SP MSG: the MSG starts after the first " - " following MSGID.
      const at = m.indexOf(' login.failed - ') + ' login.failed - '.length;
      return { header: m.subarray(0, at).toString('latin1'), msg: m.subarray(at) };
    });
  }

  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

  it.each(['udp', 'tcp'] as const)('%s: a record with non-ASCII text is MSG-UTF8, starting with the BOM (RFC 5424 §6.4); an ASCII one is unchanged', async (transport) => {
    const received: Buffer[] = [];
    let port: number;
    let stop: () => Promise<void>;
    if (transport === 'udp') {
      const server = createSocket('udp4');
      server.on('message', (m) => received.push(m));
      await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
      port = server.address().port;
      stop = async () => void server.close();
    } else {
      const server: Server = createTcpServer((socket) => socket.on('data', octetCountedBytes((m) => received.push(m))));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as { port: number }).port;
      stop = () => new Promise((resolve) => server.close(() => resolve()));
    }
    const forward = new SyslogForwarder({ ...settings, host: '127.0.0.1', port, transport }, quiet);
    const [unicode, ascii] = await unicodeRecords(forward, received);
    await stop();
    expect(unicode!.header).toMatch(/^<108>1 \S+ \S+ enrollgate \d+ login\.failed - $/);
    expect(unicode!.msg.subarray(0, 3)).toEqual(BOM);
    expect(JSON.parse(unicode!.msg.subarray(3).toString('utf8'))).toMatchObject({ type: 'login.failed', user: 'jürgen.müller' });
    expect(ascii!.msg[0]).toBe(0x7b); // "{": no BOM
    expect(JSON.parse(ascii!.msg.toString('utf8'))).toMatchObject({ user: 'juergen' });
  });

  it('keeps at most queue_limit records while the relay is away, counting the dropped ones', async () => {
    const port = await freeTcpPort();
    const forward = new SyslogForwarder({ ...settings, queue_limit: 100, host: '127.0.0.1', port, transport: 'tcp' }, quiet, 60_000);
    await writeRecords(forward, 250);
    expect(forward.dropped).toBe(150);
    expect(verifyAuditDir(dir)).toMatchObject({ status: 'intact', records: 250 });
    await forward.close(0);
  });
});
