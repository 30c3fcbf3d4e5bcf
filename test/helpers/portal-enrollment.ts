import { expect } from 'vitest';
import type { TestGateway } from './gateway.js';
import { call, formOf } from './http.js';
import { accountingStart } from './radclient.js';

/**
 * Enrolls an iPhone through the portal as the employee: accounting places the device at
 * `ip`, then the start page and its registration form.
 */
export async function enrollAtPortal(t: TestGateway, secret: string, mac: string, ip: string, sessionId: string): Promise<void> {
  await accountingStart(t.gateway.ports.acct, secret, mac, ip, sessionId);
  const page = await call(t.httpUrl, 'GET', '/portal', { ip });
  const form = formOf(page);
  const done = await call(t.httpUrl, 'POST', new URL(form.action, t.httpUrl).pathname, {
    ip,
    cookie: form.cookie,
    form: { _csrf: form.csrf, username: 'employee', password: t.employeePassword },
  });
  expect([302, 303], done.body).toContain(done.status);
}
