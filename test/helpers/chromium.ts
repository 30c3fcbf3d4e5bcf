import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, for the e2e suites: no sandbox (root in CI), nothing that
 * reaches out to Google's hosts (this machine has no internet: background networking,
 * component updates, sync and QUIC each tried, many at a time). `extra` adds a suite's own
 * flags (host resolver rules, a trusted key).
 */
export function launchChromium(extra: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  });
}
