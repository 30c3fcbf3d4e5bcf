import { spawnSync } from 'node:child_process';

/**
 * Runs an `nmcli connection add …` line as a person pastes it: through sh, with HOME set to
 * `home` (the line first finds the download folder with xdg-user-dir, which reads
 * HOME/.config/user-dirs.dirs, else takes HOME/Downloads), into NetworkManager's own nmcli with
 * --offline, which needs no daemon: it checks every property and value, reads the certificate
 * files named, and prints the keyfile it would store. `path` is the PATH the line runs with (to
 * run it where xdg-user-dir is missing). Returns that keyfile as sections of key=value (GLib key
 * file escapes undone); throws with nmcli's error when it refuses the line.
 */
export function pastedNmcli(command: string, home: string, path = process.env.PATH ?? '/usr/bin:/bin'): Record<string, Record<string, string>> {
  // The first "nmcli connection add", after what sets $dl when the line names files.
  const NMCLI = /^([^\n]*?; )?nmcli connection add /;
  if (!NMCLI.test(command)) throw new Error(`not an nmcli connection add line: ${command}`);
  const offline = command.replace(NMCLI, '$1nmcli --offline connection add ');
  const r = spawnSync('/bin/sh', ['-c', offline], { encoding: 'utf8', env: { PATH: path, HOME: home } });
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
