import QRCode from 'qrcode';

/**
 * QR codes drawn on the server, as an SVG data: URI for an <img>: the page needs no
 * script, no extra request and no markup marked safe, and the code scans from another
 * phone's camera (a person whose captive sheet cannot download can fetch the agent on
 * a second device, or show it to IT). The URL comes from the config, so one code per
 * URL is cached for the life of the process.
 */
const cache = new Map<string, Promise<string>>();

export function qrDataUri(url: string): Promise<string> {
  let uri = cache.get(url);
  if (!uri) {
    uri = QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, color: { dark: '#000000', light: '#ffffff' } }).then(
      (svg) => `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
    );
    cache.set(url, uri);
    uri.catch(() => cache.delete(url));
  }
  return uri;
}
