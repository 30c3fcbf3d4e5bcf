/**
 * The reference for bench:portal: the smallest Koa + @koa/router app answering a captive
 * probe the way the gateway answers a device without a session (302 to the portal, no-store).
 * What it costs is what the framework costs; the gateway's figure over this one is what
 * the gateway itself adds.
 *
 *   tsx bench/bare-koa.ts PORT LOCATION
 */
import Router from '@koa/router';
import Koa from 'koa';

const [port, location] = process.argv.slice(2);
if (!port || !location) throw new Error('usage: tsx bench/bare-koa.ts PORT LOCATION');
const router = new Router();
router.get('/hotspot-detect.html', (ctx) => {
  ctx.set('Cache-Control', 'no-store');
  ctx.redirect(location);
});
const app = new Koa();
app.use(router.routes());
app.listen(Number(port), '127.0.0.1', () => console.log('bare koa listening'));
