import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the benchmarks read about processes from /proc: memory, CPU in cores over a
 * stretch of wall time, and which processes a gateway runs (bench/radius.ts,
 * bench/scale.ts).
 */

/** RSS, and its private and file-backed parts, in MB. */
export function procStatus(pid: number): { rss: number; anon: number; file: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, anon: kb('RssAnon') / 1024, file: (kb('RssFile') + kb('RssShmem')) / 1024 };
}

/** utime + stime in seconds (clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Busy and total CPU seconds of the whole host, from /proc/stat (all cores). */
export function hostCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((s, v) => s + v, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / 100, total: total / 100 };
}

/**
 * CPU use of some processes, of this one and of the whole host over a stretch of
 * wall time, in cores. The machine is shared: "rest of host" is what neither the
 * listed processes nor this one used (generators in other processes, the kernel's
 * network work, anything else running).
 */
export function cpuMeter(pids: Record<string, number>): (others?: Record<string, number>) => string {
  const started = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const self = process.cpuUsage();
  const host = hostCpu();
  return (others = {}) => {
    const wall = (performance.now() - started) / 1000;
    let listed = 0;
    const parts = Object.entries(pids).map(([k, pid]) => {
      const used = cpuSeconds(pid) - before[k]!;
      listed += used;
      return `${k} ${(used / wall).toFixed(2)}`;
    });
    const mine = process.cpuUsage(self);
    const own = (mine.user + mine.system) / 1e6;
    parts.push(`bench process ${(own / wall).toFixed(2)}`);
    // Processes that measured themselves (the C generators), in cores over their own window.
    for (const [k, cores] of Object.entries(others)) {
      listed += cores * wall;
      parts.push(`${k} ${cores.toFixed(2)}`);
    }
    const now = hostCpu();
    const busy = now.busy - host.busy;
    parts.push(`rest of host ${(Math.max(0, busy - listed - own) / wall).toFixed(2)}`);
    return `CPU in cores: ${parts.join(', ')}; host busy ${(busy / wall).toFixed(2)} of ${((now.total - host.total) / wall).toFixed(0)}`;
  };
}

/**
 * A gateway's processes by role: the main one, and its RADIUS workers (its children),
 * named by the port each serves (radius/workers.ts tells them in their environment).
 */
export function gatewayProcesses(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: pid };
  let auth = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) !== pid) continue;
      const port = /ENROLLGATE_RADIUS_WORKER_PORT=(\w+)/.exec(readFileSync(`/proc/${entry}/environ`, 'latin1'))?.[1];
      out[port === 'acct' ? 'accounting worker' : `auth worker ${++auth}`] = Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
