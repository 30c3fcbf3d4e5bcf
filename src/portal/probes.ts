/**
 * Captive-portal detection probes (docs/protocols.md): the path each OS
 * fetches and the exact answer that means "you are online". For a device without a
 * session the answer is a redirect to the portal instead, which makes the OS open
 * its captive-portal sheet.
 */
export interface ProbeAnswer {
  readonly status: number;
  readonly type?: string;
  readonly body?: string;
}

const APPLE: ProbeAnswer = {
  status: 200,
  type: 'text/html',
  body: '<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>',
};
const NO_CONTENT: ProbeAnswer = { status: 204 };

export const PROBES: Readonly<Record<string, ProbeAnswer>> = {
  // iOS, iPadOS, macOS
  '/hotspot-detect.html': APPLE,
  '/library/test/success.html': APPLE,
  // Android, ChromeOS
  '/generate_204': NO_CONTENT,
  '/gen_204': NO_CONTENT,
  // Windows 10/11, and before
  '/connecttest.txt': { status: 200, type: 'text/plain', body: 'Microsoft Connect Test' },
  '/ncsi.txt': { status: 200, type: 'text/plain', body: 'Microsoft NCSI' },
  // Firefox
  '/canonical.html': {
    status: 200,
    type: 'text/html',
    body: '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>',
  },
  '/success.txt': { status: 200, type: 'text/plain', body: 'success\n' },
};
