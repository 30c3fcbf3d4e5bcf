import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Free ports for the gateways and peers the tests start themselves, found by binding
 * them and letting them go again; the test then configures its server with the number.
 *
 * Not a port the OS hands out for bind(0): those come from the ephemeral range
 * (net.ipv4.ip_local_port_range, 32768-60999 by default), from which the OS also takes
 * the local end of every outgoing connection and every other bind(0) on the machine. A
 * port picked there and let go was taken that way before the test's gateway bound it
 * (CI, 2026-12-07: "portal.https.port: cannot listen on 127.0.0.1:37297 (the port is in
 * use)"). So the ports come from the 12,000 below that range, which only something that
 * asks for the number takes: each vitest worker (VITEST_POOL_ID) has its own slice of
 * 2,000, walked in turn from a random place, so two test files running at once never
 * pick the same number, and a number something already holds is skipped.
 */

const SLICE = 2000;
const SLICES = 6;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > SLICE * SLICES + 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** This process's slice: by vitest worker, else by process id. */
const sliceStart = ephemeralLow() - SLICE * SLICES + ((Number(process.env.VITEST_POOL_ID ?? process.pid) - 1) % SLICES) * SLICE;
/** Where the walk through the slice goes next (TCP and UDP ports are apart: one walk for each). */
const next = { tcp: Math.floor(Math.random() * SLICE), udp: Math.floor(Math.random() * SLICE) };

async function walk(kind: 'tcp' | 'udp', free: (port: number) => Promise<boolean>): Promise<number> {
  for (let tries = 0; tries < SLICE; tries++) {
    const port = sliceStart + (next[kind]++ % SLICE);
    if (await free(port)) return port;
  }
  throw new Error(`no free ${kind} port in ${sliceStart}-${sliceStart + SLICE - 1}`);
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that nobody listened on a moment ago, outside the ephemeral range. */
export function freeTcpPort(): Promise<number> {
  return walk('tcp', tcpFree);
}

/** A UDP port on 127.0.0.1 that nobody was bound to a moment ago (RADIUS peers), outside the ephemeral range. */
export function freeUdpPort(): Promise<number> {
  return walk('udp', udpFree);
}

/** Same as freeTcpPort(): most peers (slapd, Redis, HTTP) listen on TCP. */
export function freePort(): Promise<number> {
  return freeTcpPort();
}
