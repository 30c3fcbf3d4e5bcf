import { spawn } from 'node:child_process';

export interface RadclientResult {
  /** radclient's exit code: 0 for Accept / Accounting-Response, 1 for Reject, NAK or no reply. */
  readonly code: number;
  /** The reply's code name ("Access-Accept", …), or undefined when no reply came. */
  readonly reply?: string;
  /** Reply attributes as radclient printed them (name → value, quotes removed). */
  readonly attributes: Record<string, string>;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs FreeRADIUS's radclient as the router. `attributes` are radclient's input lines
 * (`Name = value`). One try, one second timeout: a drop shows as "no reply" quickly.
 */
export function radclient(
  port: number,
  type: 'auth' | 'acct' | 'status' | 'coa' | 'disconnect',
  secret: string,
  attributes: readonly string[],
  extraArgs: readonly string[] = [],
): Promise<RadclientResult> {
  return new Promise((resolve, reject) => {
    // "--": a secret that begins with "-" is the secret, not an option (radclient uses getopt).
    const child = spawn('radclient', ['-x', '-r', '1', '-t', '1', ...extraArgs, '--', `127.0.0.1:${port}`, type, secret], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const reply = /Received (\S+) Id/.exec(stdout)?.[1];
      const attrs: Record<string, string> = {};
      if (reply) {
        const after = stdout.slice(stdout.indexOf(`Received ${reply}`));
        for (const m of after.matchAll(/^\t(\S+) = (.*)$/gm)) attrs[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
      }
      resolve({ code: code ?? -1, ...(reply ? { reply } : {}), attributes: attrs, stdout, stderr });
    });
    child.stdin.end(`${attributes.join('\n')}\n`);
  });
}

/**
 * radclient's arguments for the first request after a gateway (or a RADIUS worker) has just
 * started: one try, as always, waited for up to 10 s. A freshly started worker's first answer
 * has come after the default second while the full suite loaded the machine. Only for a
 * request that is answered: a drop still shows after the default second.
 */
export const FIRST_ANSWER: readonly string[] = ['-t', '10'];

/** The attribute lines of a MAC-authentication Access-Request, as CoovaChilli or a WLC sends it. */
export function macAuth(mac: string, extra: readonly string[] = []): string[] {
  const dashed = mac.toUpperCase().replace(/:/g, '-');
  return [
    `User-Name = "${mac.replace(/:/g, '-')}"`,
    `User-Password = "${mac.replace(/:/g, '-')}"`,
    `Calling-Station-Id = "${dashed}"`,
    'NAS-IP-Address = 127.0.0.1',
    'Service-Type = Call-Check',
    'Message-Authenticator = 0x00',
    ...extra,
  ];
}

/**
 * The router's accounting Start for a device at `ip` (its IP→MAC lease, what the portal
 * trusts first to know which device a browser is). Rejects when it is not answered.
 */
export async function accountingStart(port: number, secret: string, mac: string, ip: string, sessionId = `s-${mac}-${ip}`): Promise<void> {
  const r = await radclient(port, 'acct', secret, ['Acct-Status-Type = Start', `Acct-Session-Id = "${sessionId}"`, `Calling-Station-Id = "${mac}"`, `Framed-IP-Address = ${ip}`]);
  if (r.reply !== 'Accounting-Response') throw new Error(`accounting Start for ${mac} at ${ip} was not answered: ${r.stdout}${r.stderr}`);
}
