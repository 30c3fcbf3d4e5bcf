/**
 * What `enrollgate --help` and a usage error print, and the names the command line checks
 * before it runs a command (subcommands, formats). Kept apart from the commands, which load
 * the gateway's modules (the store clients, the directory, the PKI): index.ts imports a
 * command's module only to run it, so help and a mistyped command line cost none of them.
 */
import { CONFIG_NAME } from '../config/layout.js';
import { MIGRATION_REDIS_URL_VARIABLE } from '../config/variables.js';

/** Each command family's subcommands, checked before its module is loaded. */
export const DEVICES_SUBCOMMANDS = ['list', 'block', 'unblock', 'unenroll', 'blocked'] as const;
export const SESSIONS_SUBCOMMANDS = ['list', 'revoke'] as const;
export const USERS_SUBCOMMANDS = ['list', 'add', 'passwd', 'remove'] as const;
export const AUDIT_SUBCOMMANDS = ['verify', 'query', 'prune'] as const;
export const STORE_SUBCOMMANDS = ['migrate'] as const;
/** The `test` subcommands: what the gateway would do, asked without a router or a phone. */
export const TEST_SUBCOMMANDS = ['mac', 'user'] as const;

/** `ports --format`: ports.ts has a renderer for each. */
export const PORTS_FORMATS = ['table', 'json', 'nftables', 'iptables', 'ip6tables'] as const;
export type PortsFormat = (typeof PORTS_FORMATS)[number];

/** Whether `name` is one of PORTS_FORMATS. */
export function isPortsFormat(name: string): name is PortsFormat {
  return (PORTS_FORMATS as readonly string[]).includes(name);
}

/** The `reload` command's help (printed by `enrollgate help`; no newline at the end). */
const RELOAD_USAGE = `  enrollgate reload [--config FILE]
      Make the running gateway of FILE read it again, as SIGHUP (systemctl reload) does:
      the routers (radius.clients) and their secrets, the page texts, the device policy and
      the log level change with RADIUS answering throughout; keys that need a restart are
      named. Also a gateway that outlived the terminal it was started in, which a plain
      SIGHUP stops. Exit 0 reloaded, 2 the new config is refused (the old one runs on), 1 no gateway.`;

const CHECK_CONFIG_USAGE = `  enrollgate check-config [--online [--user NAME]] [--config FILE]
      Validate the configuration, its secrets and the files it names, and print every
      problem at once (exit 2), then what validates but is likely a mistake or undone
      (warnings: exit 0). --online also binds to the directory, looks up NAME (default: the
      first person of the users file; with LDAP none is searched without --user) and the
      groups and admin role it resolves to, and opens the state store: exit 1 when one fails.
`;

/** The `ports` command's help (printed by `enrollgate help`; one line of the usage text, no newline at the end). */
const PORTS_USAGE = `  enrollgate ports [--format table|json|nftables|iptables|ip6tables] [--config FILE]
      What devices that are not enrolled yet must reach (the portal, DNS, Apple and Google
      push, the Play Store), from the walled_garden section of the config: a table to read
      (default), JSON, or a firewall file for nft -f, iptables-restore or ip6tables-restore.`;

/** The `users` command's help (printed by `enrollgate help`). */
const USERS_USAGE = `  enrollgate users list [--config FILE]
  enrollgate users add NAME [--display-name TEXT] [--group GROUP]... [--nt-hash] [--config FILE]
  enrollgate users passwd NAME [--nt-hash] [--config FILE]
  enrollgate users remove NAME [--config FILE]
      Manage the local users file (directory.kind: file) while the gateway runs: the next
      login reads the change. add and passwd ask for the password twice without echoing it
      (or read the first line of stdin when it is not a terminal) and store only its scrypt
      hash; at least 8 characters. --nt-hash also keeps the NT hash 802.1X PEAP needs
      (password-equivalent); passwd replaces an NT hash the entry already has. Audited with
      the OS user. remove does not end the person's sessions: \`sessions revoke --user NAME\`.
`;

/** The `devices` command's help (printed by `enrollgate help`). */
const DEVICES_USAGE = `  enrollgate devices list [--user USER] [--config FILE]
      List enrolled devices (all, or USER's).
  enrollgate devices block MAC [--reason TEXT] [--config FILE]
      Block a lost or stolen device: it can no longer enroll or log in, and its session
      ends, so RADIUS refuses its next request, and its router is sent a Disconnect-Request
      (RFC 5176, where dynamic_authorization is on), as from the admin console.
  enrollgate devices unenroll MAC [--reason TEXT] [--config FILE]
      Unenroll a device whoever owns it; its session ends as with block.
  enrollgate devices unblock MAC [--config FILE]
      Take a MAC off the block list.
  enrollgate devices blocked [--config FILE]
      Show the block list.
`;

/** The `sessions` command's help (printed by `enrollgate help`). */
const SESSIONS_USAGE = `  enrollgate sessions list [--user USER] [--config FILE]
      List live sessions (all, or USER's): MAC, user, how it began, start, end.
  enrollgate sessions revoke MAC [--reason TEXT] [--config FILE]
  enrollgate sessions revoke --user USER [--reason TEXT] [--config FILE]
      End one device's session, or every session of USER (a lost or stolen device): RADIUS
      refuses the device's next request, and its router is sent a Disconnect-Request (RFC
      5176, where dynamic_authorization is on), as from the admin console. Audited with the
      OS user.
`;

/** The `audit` command's help (printed by `enrollgate help`). */
const AUDIT_USAGE = `  enrollgate audit verify [--config FILE | --dir DIR]
      Check the audit trail's hash chain (and HMACs, with audit.hmac_key) up to its
      checkpoint (audit-head.json): exit 0 when intact, 1 at the first altered, deleted,
      reordered or cut record (named by file and line), at a missing or wrong
      checkpoint, and when the directory does not exist or holds no trail; 3 when it
      ends in a torn line from a crash not yet recovered.
  enrollgate audit query [--config FILE | --dir DIR] [--from T] [--to T] [--user U]
      [--mac MAC] [--type TYPE] [--outcome success|failure|info] [--format jsonl|csv]
      [--limit N]
      Print matching records, oldest first, as JSON lines (as stored) or CSV. T is a
      date (2026-11-26, UTC) or an ISO 8601 instant; --to is exclusive. TYPE is an
      event type (device.enrolled) or a prefix (device.*).
  enrollgate audit prune --before DATE --archive DIR [--config FILE]
      Move the daily files of the days before DATE (UTC, at most today) into DIR and
      record the cut in the trail (audit.pruned: files, records, the last record's seq
      and SHA-256), so that verify accepts the rest. Refused on a trail that does not
      verify. DIR gets a checkpoint: \`audit verify --dir DIR\` checks the archive.
`;

/** The `store` command's help (printed by `enrollgate help`). */
const STORE_USAGE = `  enrollgate store migrate --to redis|sqlite [--resume | --verify-only] [--config FILE]
      [--redis-url URL] [--sqlite-file FILE]
      Copy the state (devices, sessions, accounting, …) from the store the config uses
      (store.kind) to the other one, each entry with its expiry, then compare the two: the
      count and SHA-256 of each namespace's live entries. Stop the gateway first (every
      gateway, for a Redis source; a SQLite file another process has open is refused): a
      change made during the copy is not copied, and shows as a difference.
      Redis: --redis-url, else $${MIGRATION_REDIS_URL_VARIABLE}, else store.redis (url or sentinel; ps
      and shell history show a flag: keep a password in the variable or the config). SQLite:
      --sqlite-file, else store.sqlite_file. A target that holds enrollgate data already
      is refused. A copy stopped by Ctrl-C or a crash leaves FILE.migration.json beside the
      SQLite file; the same command with --resume goes on from there. --verify-only
      compares and copies nothing. Exit status 1 when the stores differ (the namespaces
      are named) or the copy stopped, 2 when the command cannot run as given.
`;

const BACKUP_USAGE = `  enrollgate backup --to DIR [--config FILE]
      Copy the SQLite state and the audit trail into DIR (new or empty), with backup.json
      listing each file's SHA-256. The gateway may be running: the state is copied with
      SQLite's online backup (one consistent moment), the audit trail checkpoint first and
      each daily file up to its last whole record. With store.kind redis only the audit
      trail is copied (back Redis up with its own tools). Config, users file, secrets and
      certs/ are not copied: they are yours to keep.
  enrollgate restore --from DIR [--config FILE]
      Put a backup's state and audit trail where the config says (store.sqlite_file,
      audit.dir), after checking each file against backup.json; then check the state
      file's integrity and verify the trail. Refuses to overwrite: the state file must not
      exist and audit.dir must be empty (stop the gateway and move them aside first).
`;

const TEST_MAC_USAGE = `  enrollgate test mac MAC [--nas NAME] [--json] [--config FILE]
      What RADIUS would answer now for this device asking through NAS (default: the first
      in radius.clients), and the attributes it would send; whether the device is enrolled
      or blocked, and its session. Reads the state store; the gateway may be running.
`;

const TEST_USER_USAGE = `  enrollgate test user NAME [--password] [--config FILE]
      Walk the directory as a login does and say where it fails: for LDAP the connection,
      the service account's bind, the user search, the group check (required_group) and,
      with --password, the user's bind; for the users file the file, the user, the group
      and the password. --password asks for it without echoing it (or reads the first line
      of stdin when it is not a terminal). Exit 0 when every step passes, 1 when one fails.
`;

/** The whole help: `enrollgate --help`, and after a usage error. */
export const USAGE = `enrollgate: captive-portal Wi-Fi enrollment gateway

Usage:
  enrollgate init [--dir DIR] [--certs DIR] [--portal-url URL] [--listen ADDRESS] [--nt-hash]
      Create DIR/${CONFIG_NAME} (default DIR: ./data), a users file, a RADIUS secret,
      and the gateway's CA and server certificate (default: ./certs, or DIR/certs with --dir).
      Installed as a package (npm install -g), the defaults are /etc/enrollgate for the config
      and /var/lib/enrollgate for the certificates, the SQLite state and the audit trail.
      --nt-hash also keeps the first user's NT hash, which 802.1X PEAP needs (password-equivalent).
  enrollgate start [--config FILE]
      Run the gateway. FILE defaults to $ENROLLGATE_CONFIG, else ./data/${CONFIG_NAME}
      (installed as a package: /etc/enrollgate/${CONFIG_NAME});
      when neither exists and no FILE is given, runs init first. SIGHUP reloads FILE;
      closing the terminal it was started in stops it, as does any SIGHUP once that terminal
      is gone, except the one of \`enrollgate reload\`.
${RELOAD_USAGE}
${CHECK_CONFIG_USAGE}${PORTS_USAGE}
${USERS_USAGE}${DEVICES_USAGE}${SESSIONS_USAGE}${AUDIT_USAGE}${STORE_USAGE}${BACKUP_USAGE}${TEST_MAC_USAGE}${TEST_USER_USAGE}`;
