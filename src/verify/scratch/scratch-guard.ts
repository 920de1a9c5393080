/**
 * The drill's guard process: run by sandbox.ts as `node scratch-guard.js <spec>` (never imported),
 * when possible inside the scratch instance's own network namespace.
 *
 * - It holds the namespace and bridges it: each scratch port is reachable only through a Unix
 *   socket in barysafe's private scratch directory (inbound), and the scratch instance reaches
 *   its scratch PostgreSQL only through a loopback port forwarded to a socket barysafe serves
 *   (outbound). No TCP port of the scratch instance exists outside the namespace, so other local
 *   users cannot reach its admin API or register clients on it.
 * - It outlives barysafe on purpose: barysafe keeps its stdin open; when that closes — barysafe
 *   exited, however it died, SIGKILL included — it SIGKILLs every process in its namespace and
 *   every process group barysafe told it to watch, removes the containers it was told of, then
 *   exits. So no scratch instance survives barysafe.
 *
 * stdin lines: `watch <pid>` / `unwatch <pid>` (a process group leader); `container {"docker","name"}` /
 * `uncontainer {"name"}` (a container the docker launcher runs).
 */
import { spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { killProcessesWhere } from '../../platform/proc-sweep.js';

interface Spec {
  inbound: Array<{ socket: string; port: number }>;
  outbound: Array<{ port: number; socket: string }>;
  /** The guard holds a network namespace of its own: everything in it is the drill's. */
  ownNamespace?: boolean;
}

const spec = JSON.parse(process.argv[2] ?? '{"inbound":[],"outbound":[]}') as Spec;
process.umask(0o077); // the sockets: 0600 in a 0700 directory
const watched = new Set<number>();
/**
 * The namespace whose processes are all the drill's: ours, and only when it really is a new one —
 * not barysafe's nor init's (were the namespace set-up ever to fail silently, a sweep of the
 * host's namespace would kill every process of the host).
 */
const ownNet = (() => {
  if (!spec.ownNamespace) return undefined;
  const ns = (pid: number | 'self') => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      return undefined;
    }
  };
  const mine = ns('self');
  return mine && mine !== ns(process.ppid) && mine !== ns(1) ? mine : undefined;
})();

/** Containers of the drill, by name: the engine runs them, so only `docker rm -f` ends them. */
const containers = new Map<string, string>();

function killWatched(): void {
  // Every process in the namespace, whatever group or session it moved to: a forked child of a
  // wrapper, a daemon that called setsid.
  if (ownNet) killProcessesWhere('ns/net', (ns) => ns === ownNet);
  for (const [name, docker] of containers) spawnSync(docker, ['rm', '-f', name], { stdio: 'ignore', timeout: 30_000 });
  containers.clear();
  for (const pid of watched) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

// A terminal's Ctrl-C or hang-up is for barysafe, which then closes our stdin.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.on('SIGTERM', () => {
  killWatched();
  process.exit(0);
});

function bridge(a: net.Socket, b: net.Socket): void {
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    x.on('error', () => y.destroy());
    x.on('close', () => y.destroy());
  }
}

const listening: Array<Promise<void>> = [];
for (const r of spec.inbound) {
  const server = net.createServer((c) => bridge(c, net.connect(r.port, '127.0.0.1')));
  listening.push(new Promise((resolve, reject) => server.once('error', reject).listen(r.socket, () => resolve())));
}
for (const r of spec.outbound) {
  const server = net.createServer((c) => bridge(c, net.connect(r.socket)));
  listening.push(
    new Promise((resolve, reject) => server.once('error', reject).listen(r.port, '127.0.0.1', () => resolve())),
  );
}
Promise.all(listening).then(
  () => process.stdout.write('READY\n'),
  (e: unknown) => {
    process.stdout.write(`FAILED ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  pending += chunk;
  for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
    const line = pending.slice(0, i);
    pending = pending.slice(i + 1);
    const [op, arg = ''] = [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)];
    if (op === 'container' || op === 'uncontainer') {
      try {
        const c = JSON.parse(arg) as { docker?: unknown; name?: unknown };
        if (typeof c.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(c.name)) continue;
        if (op === 'uncontainer') containers.delete(c.name);
        else if (typeof c.docker === 'string') containers.set(c.name, c.docker);
      } catch {
        /* not ours */
      }
      continue;
    }
    const pid = Number(arg);
    if (!Number.isInteger(pid) || pid <= 1) continue;
    if (op === 'watch') watched.add(pid);
    else if (op === 'unwatch') watched.delete(pid);
  }
});
const done = () => {
  killWatched();
  process.exit(0);
};
process.stdin.on('end', done);
process.stdin.on('error', done);
