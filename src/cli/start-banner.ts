import type { Config } from '../config/load.js';
import { directorySummary, storeSummary } from '../config/summary.js';
import { PortalUrls } from '../portal/urls.js';

/** Addresses that only this machine reaches: a router on the network cannot use a listener there. */
const LOOPBACK = /^(127\.|::1$)/;

/**
 * What `enrollgate start` shows a person at a terminal once the gateway listens: where
 * each part is and what to do next. The same facts (but the advice) are in the
 * "enrollgate started" log line, which is all that JSON mode writes.
 */
export function startBanner(config: Config, ports: { http: number; https: number; auth: number; acct: number }): string {
  const urls = new PortalUrls(config.portal.base_url);
  const nas = config.radius.clients.map((c) => c.name);
  const lines = [
    '',
    'enrollgate is running',
    `  Portal          ${urls.route('portal.start')}  (listening on ${config.portal.https.host}:${ports.https} HTTPS, ${config.portal.http.host}:${ports.http} HTTP)`,
    `  Admin console   ${urls.route('admin.home')}`,
    `  RADIUS          ${config.radius.host} auth ${ports.auth}/udp, accounting ${ports.acct}/udp; ${nas.length} router(s): ${nas.join(', ') || 'none'}`,
    `  Store           ${storeSummary(config)}`,
    `  Directory       ${directorySummary(config)}`,
    `  Config          ${config.config_file}`,
    '',
    'Next:',
    ...(LOOPBACK.test(config.radius.host) ? [`  - RADIUS answers this machine only: set radius.host to an address your routers reach.`] : []),
    `  - Add each router to radius.clients (name, address, secret) and point its RADIUS at port ${ports.auth} (accounting ${ports.acct}).`,
    '  - Let devices that are not enrolled yet reach the portal: enrollgate ports --format nftables',
    '  - Check the directory with a real account: enrollgate check-config --online --user NAME',
    '  - See what RADIUS would answer a device: enrollgate test mac AA-BB-CC-DD-EE-FF',
    '  - Stop with Ctrl-C. Under systemd or with stdout redirected, logs are JSON lines instead of this text.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
