/**
 * One `nmcli connection add …` command line per network for a Linux computer with
 * NetworkManager, to paste into a terminal. Pure: values in, one line of POSIX shell out.
 *
 * The properties are NetworkManager's (nm-settings-nmcli(5)): connection.autoconnect,
 * wifi.ssid, wifi.hidden, wifi-sec.key-mgmt (wpa-psk, sae, wpa-eap) and wifi-sec.psk, and in
 * the 802-1x setting eap (peap, ttls, tls), phase2-auth, identity, anonymous-identity, ca-cert,
 * domain-suffix-match (several names separated by ";", as wpa_supplicant takes them),
 * client-cert, private-key and private-key-password. A PKCS#12 file is given as both the
 * client certificate and the private key, with its password. No EAP password is written: NetworkManager asks for
 * it when it connects (a secret agent such as the desktop's network applet, or `nmcli --ask`).
 *
 * Every value that is not plainly safe is single-quoted ('\'' for a quote inside), so an SSID
 * with spaces, quotes, `$` or a newline reaches nmcli as one argument, unexpanded.
 *
 * The files are where the browser saved them: the desktop's download folder, which
 * xdg-user-dirs names in the desktop's language (~/Téléchargements, ~/Descargas), not always
 * ~/Downloads. A line that names files first sets $dl to that folder (xdg-user-dir DOWNLOAD),
 * and to ~/Downloads when the CA is not there: xdg-user-dir missing (no xdg-user-dirs package,
 * $dl empty) or the folder not configured (it prints $HOME). Browsers save to ~/Downloads then.
 */
import type { WifiConfig } from '../config/load.js';
import { manualSettings } from './eap-settings.js';

/** The files the command names, as the page offers them, in the person's download folder. */
export interface DownloadedFiles {
  /** The CA certificate (PEM). */
  readonly caFilename: string;
  /** EAP-TLS: the device's PKCS#12 and its password. */
  readonly p12?: { readonly filename: string; readonly password: string };
}

const PLAIN = /^[A-Za-z0-9@%+=:,./_-]+$/;
/** File names the portal makes (an ASCII slug): safe inside double quotes after "$dl/". */
const FILE_NAME = /^[A-Za-z0-9._-]+$/;

/** One argument for a POSIX shell: as it is when nothing in it is special, else single-quoted. */
export function shellQuote(value: string): string {
  return PLAIN.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

/** A file name the portal made, or an error: it goes unquoted into double quotes. */
function portalFileName(filename: string): string {
  if (!FILE_NAME.test(filename)) throw new Error(`not a portal file name: ${JSON.stringify(filename)}`);
  return filename;
}

/** "$dl/<file>": the shell expands $dl (an absolute folder), so NetworkManager gets the absolute path it needs. */
function downloaded(filename: string): string {
  return `"$dl/${portalFileName(filename)}"`;
}

/**
 * Sets $dl to the download folder the CA was saved in (xdg-user-dir's, else ~/Downloads),
 * ending in "; " for the nmcli command that follows on the same line, so each network's line
 * works pasted on its own.
 */
function downloadFolder(caFilename: string): string {
  return `dl="$(xdg-user-dir DOWNLOAD 2>/dev/null)"; [ -f "$dl/${portalFileName(caFilename)}" ] || dl="$HOME/Downloads"; `;
}

/** A property's value: text, or a file the page offered (in the download folder). */
type Value = string | { readonly download: string };

/** The property/value pairs of `nmcli connection add` for one network, unquoted. */
function nmcliArguments(network: WifiConfig, user: string, files: DownloadedFiles): Array<readonly [string, Value]> {
  const s = manualSettings(network, user);
  const out: Array<readonly [string, Value]> = [
    ['type', 'wifi'],
    ['con-name', s.ssid],
    ['ssid', s.ssid],
  ];
  if (s.hidden) out.push(['wifi.hidden', 'yes']);
  if (!network.auto_join) out.push(['connection.autoconnect', 'no']);
  if (s.psk !== undefined) out.push(['wifi-sec.key-mgmt', s.security === 'wpa3-personal' ? 'sae' : 'wpa-psk'], ['wifi-sec.psk', s.psk]);
  if (s.eap) {
    out.push(['wifi-sec.key-mgmt', 'wpa-eap'], ['802-1x.eap', s.eap.method.toLowerCase()]);
    if (s.eap.phase2) out.push(['802-1x.phase2-auth', s.eap.phase2.toLowerCase()]);
    out.push(['802-1x.identity', s.eap.identity]);
    if (s.eap.anonymousIdentity !== undefined) out.push(['802-1x.anonymous-identity', s.eap.anonymousIdentity]);
    out.push(['802-1x.ca-cert', { download: files.caFilename }]);
    // Every configured name, not one common suffix: the command is pasted, not typed.
    out.push(['802-1x.domain-suffix-match', (network.server_names ?? []).map((n) => n.replace(/^\*\./, '')).join(';')]);
    if (s.eap.method === 'TLS') {
      if (!files.p12) throw new Error(`Wi-Fi network ${JSON.stringify(s.ssid)} is eap-tls: the command needs the device's PKCS#12`);
      const p12 = { download: files.p12.filename };
      out.push(['802-1x.client-cert', p12], ['802-1x.private-key', p12], ['802-1x.private-key-password', files.p12.password]);
    }
  }
  return out;
}

/** The whole command line, quoted for a POSIX shell (sh, bash, zsh); led by the download folder when it names files. */
export function nmcliCommand(network: WifiConfig, user: string, files: DownloadedFiles): string {
  const args = nmcliArguments(network, user, files);
  const words = args.flatMap(([key, value]) => [key, typeof value === 'string' ? shellQuote(value) : downloaded(value.download)]);
  const namesFiles = args.some(([, value]) => typeof value !== 'string');
  return (namesFiles ? downloadFolder(files.caFilename) : '') + ['nmcli', 'connection', 'add', ...words].join(' ');
}

/** The command that connects to the network once it is added, asking for a missing password on the terminal. */
export function nmcliUp(ssid: string): string {
  return `nmcli --ask connection up ${shellQuote(ssid)}`;
}
