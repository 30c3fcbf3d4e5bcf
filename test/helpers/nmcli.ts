import { spawnSync } from 'node:child_process';

/**
 * Runs an `nmcli connection add …` line as a person pastes it: through sh, with HOME set to
 * `home` (the line names files in "$HOME/Downloads"), into NetworkManager's own nmcli with
 * --offline, which needs no daemon: it checks every property and value, reads the certificate
 * files named, and prints the keyfile it would store. Returns that keyfile as sections of
 * key=value (GLib key file escapes undone); throws with nmcli's error when it refuses the line.
 */
export function pastedNmcli(command: string, home: string): Record<string, Record<string, string>> {
  if (!command.startsWith('nmcli connection add ')) throw new Error(`not an nmcli connection add line: ${command}`);
  const offline = command.replace(/^nmcli /, 'nmcli --offline ');
  const r = spawnSync('sh', ['-c', offline], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home } });
  if (r.status !== 0) throw new Error(`nmcli refused the line (rc ${r.status}): ${r.stderr}`);
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const line of r.stdout.split('\n')) {
    const head = /^\[(.+)\]$/.exec(line);
    if (head) out[(section = head[1]!)] = {};
    else if (line.includes('=') && section) out[section]![line.slice(0, line.indexOf('='))] = unescapeKeyfile(line.slice(line.indexOf('=') + 1));
  }
  return out;
}

/** A GLib key file value as written (\s, \n, \t, \r, \\ escapes) back to its text. */
function unescapeKeyfile(value: string): string {
  return value.replace(/\\(.)/g, (_m, c: string) => ({ s: ' ', n: '\n', t: '\t', r: '\r' })[c] ?? c);
}
