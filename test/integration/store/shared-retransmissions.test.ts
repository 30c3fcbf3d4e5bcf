import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStore } from '../../../src/sessions/session-store.js';
import type { Mac } from '../../../src/mac.js';
import { createLogger } from '../../../src/logger.js';
import { openRedisStore } from '../../../src/store/redis-state-store.js';
import type { StateStore } from '../../../src/store/state-store.js';
import { startTestGateway, TEST_NAS_SECRET, type TestGateway } from '../../helpers/gateway.js';
import { answers, RawNas } from '../../helpers/raw-nas.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';
import { macAuthRequest } from '../../unit/radius/radius-bytes.js';

/**
 * radius.shared_retransmission_cache: a router that retransmits a request to the
 * other gateway (failing over from its primary) gets the answer the first gateway
 * gave, from the cache they share in Redis, even though the state has changed.
 */
let redis: TestRedis;
let a: TestGateway;
let b: TestGateway;
let state: StateStore;
let nas: RawNas;

beforeAll(async () => {
  redis = await startRedis();
  const configure = (doc: Record<string, any>) => {
    doc.store = { kind: 'redis', redis: { url: redis.url, key_prefix: 'rt:' } };
    doc.radius.shared_retransmission_cache = true;
  };
  a = await startTestGateway({ configure });
  b = await startTestGateway({ configure });
  state = await openRedisStore({ url: redis.url, key_prefix: 'rt:', connect_timeout_ms: 1000 }, createLogger('silent'));
  nas = await RawNas.open();
});
afterAll(async () => {
  await nas?.close();
  await state?.close();
  await a?.close();
  await b?.close();
  await redis?.close();
});

describe('the shared RFC 5080 cache', () => {
  it('answers a retransmission that reaches the other gateway with the first answer, not a new decision', async () => {
    const mac = '02-00-00-00-06-01';
    const request = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 21, userName: mac, callingStationId: mac, authenticator: randomBytes(16) });
    const first = await nas.ask(a.gateway.ports.auth, request, answers(request));
    expect(first[0]).toBe(3); // Access-Reject: no session
    // The device gets a session; the router, failing over, retransmits the same request to B.
    const now = new Date();
    await new SessionStore(state.kv.sessions).put({ mac: '02:00:00:00:06:01' as Mac, user: 'alice', origin: 'login', startedAt: now.toISOString(), endsAt: new Date(now.getTime() + 3600_000).toISOString() }, now);
    const again = await nas.ask(b.gateway.ports.auth, request, answers(request));
    expect(again.equals(first)).toBe(true);
    // A new request is decided afresh, on either gateway: accepted now.
    const fresh = macAuthRequest({ secret: TEST_NAS_SECRET, identifier: 22, userName: mac, callingStationId: mac, authenticator: randomBytes(16) });
    expect((await nas.ask(b.gateway.ports.auth, fresh, answers(fresh)))[0]).toBe(2);
  });
});
