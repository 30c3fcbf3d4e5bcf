import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/chromium.js';
import { leaseTo } from '../helpers/device-requests.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

/**
 * My devices in headless Chromium as an iPhone with JavaScript off: after enrolling, the
 * person opens My devices (no second password), finds the name field by its label, names
 * the phone, and sees the name with the model beside it; a name too long comes back with
 * the reason. Screenshots in test-output/screenshots.
 */

const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const MAC = '3e:23:00:00:00:01';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');

let t: TestGateway;
let browser: Browser;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestGateway();
  browser = await launchChromium();
  // The router's accounting: the browser's address (127.0.0.1) is this iPhone, on a private address.
  await leaseTo(t, MAC, '127.0.0.1');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** Submits the form holding this button and waits for the page the server answers with. */
async function press(page: Page, button: Locator): Promise<void> {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

describe('naming a device, without JavaScript', () => {
  it('enrolls an iPhone on a private address, then names it in My devices, found by its label', async () => {
    const context = await browser.newContext({ userAgent: IPHONE_UA, javaScriptEnabled: false, viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/portal`);
    await page.getByLabel('User name').fill('employee');
    await page.getByLabel('Password').fill(t.employeePassword);
    await press(page, page.locator('button[type=submit]'));
    expect(await page.locator('h1').textContent()).toBe('You are online');
    await press(page, page.getByRole('link', { name: 'My devices' }));
    expect(await page.locator('h1').textContent()).toBe('My devices');
    const field = page.getByLabel('Your name for it');
    expect(await field.inputValue()).toBe('');
    await field.fill('Lisa’s work phone');
    await press(page, page.getByRole('button', { name: 'Save name' }));
    expect(page.url()).toBe(`${t.httpUrl}/portal/devices?done=renamed`);
    expect(await page.getByRole('status').textContent()).toBe('The name is saved.');
    expect(await page.locator('li.device h2').textContent()).toBe('Lisa’s work phone iPhone (iOS 17.5)');
    expect(await page.locator('li.device h2 .small').textContent()).toBe('iPhone (iOS 17.5)');
    expect(await page.getByLabel('Your name for it').inputValue()).toBe('Lisa’s work phone');
    await page.screenshot({ path: join(SHOTS, 'my-devices-named.png'), fullPage: true });
    await context.close();
  });

  it('the browser stops a name at 40 characters, and an empty name brings the model back', async () => {
    const context = await browser.newContext({ userAgent: IPHONE_UA, javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${t.httpUrl}/portal/devices`);
    await page.getByLabel('User name').fill('employee');
    await page.getByLabel('Password').fill(t.employeePassword);
    await press(page, page.getByRole('button', { name: /log in/i }));
    const field = page.getByLabel('Your name for it');
    await field.fill('x'.repeat(45));
    expect(await field.inputValue()).toBe('x'.repeat(40));
    await press(page, page.getByRole('button', { name: 'Save name' }));
    expect(await page.locator('li.device h2').textContent()).toBe(`${'x'.repeat(40)} iPhone (iOS 17.5)`);
    await page.getByLabel('Your name for it').fill('');
    await press(page, page.getByRole('button', { name: 'Save name' }));
    expect(await page.locator('li.device h2').textContent()).toBe('iPhone (iOS 17.5)');
    await context.close();
  });
});
