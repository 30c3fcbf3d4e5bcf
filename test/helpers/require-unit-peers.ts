import { PEERS, requirePeers } from './require-peers.js';

/**
 * vitest's globalSetup for test/unit (vitest.config.ts). Unit tests start no server and
 * need none of the peers but openssl, which test/unit/pki checks the CA's certificates
 * and keys with, xmllint, which test/unit/profiles validates the Windows WLAN profiles with,
 * nmcli, which parses the Linux page's command lines there (--offline: it starts nothing),
 * and xdg-user-dir, which those lines ask for the download folder.
 */
export default function requireUnitPeers(): void {
  requirePeers(PEERS.filter((p) => ['openssl', 'xmllint', 'nmcli', 'xdg-user-dir'].includes(p.bin)));
}
