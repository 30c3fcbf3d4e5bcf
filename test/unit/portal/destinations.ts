/** The portal's success page, as the tests pass it to the router URL builders. */
export const DONE = 'https://portal.example.org/portal?done=enrolled';

/** Destinations a router may claim that must never be handed back: only absolute http(s) URLs are. */
export const BAD_DESTINATIONS = [
  'javascript:alert(1)',
  'JavaScript:alert(document.cookie)',
  '//evil.example/',
  '/portal/devices',
  'data:text/html,<script>alert(1)</script>',
  'ftp://example.com/file',
  'http:evil.example',
  'http:///nohost',
  ' javascript:alert(1)',
  'vbscript:msgbox(1)',
  'http:\\\\evil.example',
] as const;
