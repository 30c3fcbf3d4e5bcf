import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
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

/**
 * The flag that makes Chromium trust exactly the gateway's HTTPS server key (the certificate
 * in `certFile`, issued by the gateway's own CA), as a phone that installed the CA would.
 */
export async function trustServerKey(certFile: string): Promise<string> {
  const cert = new X509Certificate(await readFile(certFile));
  const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return `--ignore-certificate-errors-spki-list=${spki}`;
}

/**
 * Chromium on the Wi-Fi behind the router: the OS's captive-probe hosts (`probeHosts`, e.g.
 * captive.apple.com) resolve to the portal's plain-HTTP port, as the router sends them there,
 * and Chromium does not upgrade those plain-HTTP probes to HTTPS on its own. `extra` adds a
 * suite's own flags (trustServerKey).
 */
export function captiveChromium(httpUrl: string, probeHosts: readonly string[], extra: readonly string[] = []): Promise<Browser> {
  const port = new URL(httpUrl).port;
  return launchChromium([
    '--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable',
    `--host-resolver-rules=${probeHosts.map((h) => `MAP ${h} 127.0.0.1:${port}`).join(', ')}`,
    ...extra,
  ]);
}
