import { execFileSync } from 'node:child_process';

/** A program the tests run, and the Debian package that installs it. */
export interface Peer {
  readonly bin: string;
  readonly pkg: string;
}

/**
 * The integration and end-to-end suites talk to real peers. A missing one fails
 * the whole run at once with the command that installs it: nothing is skipped.
 */
export const PEERS: readonly Peer[] = [
  { bin: 'slapd', pkg: 'slapd' },
  { bin: 'ldapadd', pkg: 'ldap-utils' },
  { bin: 'slappasswd', pkg: 'slapd' },
  { bin: 'radclient', pkg: 'freeradius-utils' },
  { bin: 'openssl', pkg: 'openssl' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'python3', pkg: 'python3' },
  // The walled-garden firewall files (test/integration/walled-garden), checked in a namespace of their own.
  { bin: 'nft', pkg: 'nftables' },
  { bin: 'iptables-restore', pkg: 'iptables' },
  { bin: 'ip6tables-restore', pkg: 'iptables' },
  { bin: 'unshare', pkg: 'util-linux' },
  // The Redis store (issue 6): a private redis-server per suite.
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'redis-cli', pkg: 'redis-tools' },
  // Failover through Redis Sentinel (issue 14): a private primary, replica and three sentinels.
  { bin: 'redis-sentinel', pkg: 'redis-sentinel' },
  // What /metrics serves, linted as Prometheus would (test/integration/metrics.test.ts).
  { bin: 'promtool', pkg: 'prometheus' },
  // 802.1X (issue 16): eapol_test against the RADIUS port, and hostapd + wpa_supplicant on a veth pair.
  { bin: 'eapol_test', pkg: 'eapoltest' },
  { bin: 'hostapd', pkg: 'hostapd' },
  { bin: 'hostapd_cli', pkg: 'hostapd' },
  { bin: 'wpa_supplicant', pkg: 'wpasupplicant' },
  { bin: 'wpa_cli', pkg: 'wpasupplicant' },
  { bin: 'ip', pkg: 'iproute2' },
  // The Windows WLAN profiles, validated against Microsoft's published schema (test/unit/profiles).
  { bin: 'xmllint', pkg: 'libxml2-utils' },
  // Linux's nmcli command lines, parsed by NetworkManager's own nmcli (--offline: no daemon) (test/unit/profiles).
  { bin: 'nmcli', pkg: 'network-manager' },
  // Where those lines find the download folder, as a desktop names it (~/Téléchargements) (test/unit/profiles, test/e2e/platforms).
  { bin: 'xdg-user-dir', pkg: 'xdg-user-dirs' },
  // A real terminal for the gateway's stdout (text logs and the start banner): script(1) from util-linux.
  { bin: 'script', pkg: 'bsdutils' },
];

function onPath(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Throws, naming the packages to install, when any of `peers` is not on the PATH (or in /usr/sbin). */
export function requirePeers(peers: readonly Peer[]): void {
  const missing = peers.filter((p) => !onPath(p.bin) && !onPath(`/usr/sbin/${p.bin}`));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((p) => p.pkg))].join(' ');
    throw new Error(
      `Test peers missing: ${missing.map((p) => p.bin).join(', ')}.\n` +
        `Install them with: apt-get install -y --no-install-recommends ${pkgs}\n` +
        `(or run the second command line of README.md, which does it for you)`,
    );
  }
}

/** vitest's globalSetup for every suite but test/unit (vitest.config.ts): all the peers. */
export default function requireAllPeers(): void {
  requirePeers(PEERS);
}
