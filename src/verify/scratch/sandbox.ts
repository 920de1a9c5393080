import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, realpath, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { routeOriginThroughSocket } from '../../platform/http.js';
import { onExit } from '../../platform/lifecycle.js';
import { recordContainer, recordContainerRemoved, recordProcess } from '../../platform/private-temp.js';

/**
 * Seals a drill's scratch instance off from the host, as far as this host allows:
 *
 * - Its own network namespace (root: `unshare --net`; others: a user namespace too, where the
 *   kernel allows it), so it listens nowhere other local users can connect and reaches nothing
 *   but what barysafe forwards: its scratch PostgreSQL. barysafe talks to it through Unix sockets
 *   in the private scratch directory (see scratch-guard.ts).
 * - Every scratch process runs behind `setpriv --pdeathsig KILL` (it dies with barysafe), is
 *   watched by the guard (which kills its process group when barysafe's end of a pipe closes,
 *   SIGKILL of barysafe included) and is recorded in the run directory, so the next start kills
 *   whatever survived even that.
 *
 * Without the namespace tools (or the permission) the instance still binds loopback only and
 * still cannot outlive barysafe; `isolation` says what was possible, for the drill's evidence.
 */
export interface Sandbox {
  isolation: { kind: 'network-namespace' | 'none'; detail: string };
  /** The argument vector every scratch program runs behind. */
  wrap: string[];
  /** The database URL as the scratch instance must use it (inside the namespace: a forwarded loopback port). */
  databaseUrl: string;
  /** Records and watches a process the launcher started (the leader of its process group). */
  adopt(pid: number): void;
  /** A process that has been stopped: no longer watched. */
  release(pid: number): void;
  /** Records and watches a container (removed with `docker rm -f` if barysafe dies first). */
  adoptContainer(docker: string, name: string): void;
  /** A container that has been removed: no longer watched. */
  releaseContainer(name: string): void;
  close(): Promise<void>;
}

const GUARD = fileURLToPath(new URL('./scratch-guard.js', import.meta.url));
/** sun_path holds 108 bytes; a socket path longer than this cannot be bound. */
const MAX_SOCKET_PATH = 100;

function onPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return dirs
    .filter((d) => path.isAbsolute(d))
    .map((d) => path.join(d, name))
    .find((f) => existsSync(f));
}

let userNamespaces: boolean | undefined;
/** Whether this (non-root) user may create a user + network namespace here. */
function canUseUserNamespace(unshare: string): boolean {
  userNamespaces ??=
    spawnSync(unshare, ['--user', '--map-current-user', '--net', 'true'], { stdio: 'ignore', timeout: 5000 }).status ===
    0;
  return userNamespaces;
}

export async function openSandbox(o: {
  /** The drill's private run directory (the scratch directory). */
  dir: string;
  /** The scratch instance's TCP ports (public, admin), reached from barysafe. */
  ports: number[];
  databaseUrl: string;
  /**
   * Docker runs the instance under its daemon: no namespace of ours applies, and its containers
   * are removed by name (adoptContainer) rather than signalled.
   */
  launcherKind: 'binary' | 'command' | 'docker';
  /** Why not to try a namespace (set when a first try failed). */
  noNamespace?: string;
}): Promise<Sandbox> {
  const realDir = await realpath(o.dir);
  const sockDir = path.join(realDir, '.sandbox');
  await mkdir(sockDir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'EEXIST') throw e;
  });
  const setpriv = onPath('setpriv');
  const deathWrap = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
  const [unshare, nsenter, ip] = [onPath('unshare'), onPath('nsenter'), onPath('ip')];
  const root = process.geteuid?.() === 0;

  let why: string | undefined = o.noNamespace;
  if (why) {
    /* a first try failed */
  } else if (o.launcherKind === 'docker') why = 'the docker launcher runs the instance under the Docker daemon';
  else if (!unshare || !nsenter || !ip) why = 'unshare, nsenter or ip (util-linux, iproute2) is not installed';
  else if (path.join(sockDir, 'p-65535.sock').length > MAX_SOCKET_PATH)
    why = `the scratch directory path is too long for a Unix socket (${sockDir})`;
  else if (!root && !canUseUserNamespace(unshare)) why = 'this user may not create user and network namespaces';
  const useNamespace = why === undefined;

  // Outbound: the scratch PostgreSQL, forwarded from a loopback port inside the namespace.
  let databaseUrl = o.databaseUrl;
  const outbound: Array<{ port: number; socket: string }> = [];
  const hostServers: net.Server[] = [];
  if (useNamespace && /^postgres(ql)?:\/\//i.test(o.databaseUrl)) {
    const u = new URL(o.databaseUrl);
    const target = { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(u.port || 5432) };
    let inner = target.port;
    while (o.ports.includes(inner)) inner++;
    const socket = path.join(sockDir, `out-${inner}.sock`);
    const server = net.createServer((c) => {
      const up = net.connect(target.port, target.host);
      c.pipe(up);
      up.pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, () => resolve()));
    hostServers.push(server);
    outbound.push({ port: inner, socket });
    u.hostname = '127.0.0.1';
    u.port = String(inner);
    databaseUrl = u.toString();
  }
  const inbound = useNamespace ? o.ports.map((port) => ({ port, socket: path.join(sockDir, `p-${port}.sock`) })) : [];

  const guardArgs = [GUARD, JSON.stringify({ inbound, outbound, ownNamespace: useNamespace })];
  const nsArgs = root ? ['--net'] : ['--user', '--map-current-user', '--net'];
  const [cmd, args] = useNamespace
    ? [
        unshare!,
        [...nsArgs, '--', '/bin/sh', '-c', `${ip} link set lo up && exec "$0" "$@"`, process.execPath, ...guardArgs],
      ]
    : [process.execPath, guardArgs];
  // Its own session: a terminal's Ctrl-C reaches barysafe, which then closes the guard's stdin.
  const guard: ChildProcess = spawn(cmd, args, { cwd: realDir, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  guard.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  guard.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  guard.stdin!.on('error', () => undefined);
  const started = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    const check = () => {
      if (output.includes('READY')) {
        clearTimeout(t);
        resolve(true);
      }
    };
    guard.stdout!.on('data', check);
    guard.once('exit', () => {
      clearTimeout(t);
      resolve(output.includes('READY'));
    });
  });
  if (!started || !guard.pid) {
    guard.kill('SIGKILL');
    for (const s of hostServers) s.close();
    const reason = output.trim().split('\n').slice(-2).join(' ').slice(0, 300) || 'no output';
    // The namespace could not be set up here after all: fall back, saying why.
    if (useNamespace) return openSandbox({ ...o, noNamespace: `setting up the namespace failed (${reason})` });
    throw new Error(`the scratch guard did not start: ${reason}`);
  }
  guard.unref();
  (guard.stdout as unknown as { unref?: () => void }).unref?.();
  (guard.stderr as unknown as { unref?: () => void }).unref?.();
  recordProcess(realDir, guard.pid, realDir);

  const unroute = inbound.flatMap((r) => [
    routeOriginThroughSocket(`http://127.0.0.1:${r.port}`, r.socket),
    routeOriginThroughSocket(`http://localhost:${r.port}`, r.socket),
  ]);
  const send = (line: string) => {
    if (guard.stdin!.writable) guard.stdin!.write(line + '\n');
  };
  const nsWrap = useNamespace
    ? root
      ? [nsenter!, `--net=/proc/${guard.pid}/ns/net`, '--']
      : [nsenter!, `--target=${guard.pid}`, '--user', '--net', '--preserve-credentials', '--']
    : [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const u of unroute) u();
    for (const s of hostServers) s.close();
    const exited = new Promise<void>((r) => (guard.exitCode !== null ? r() : guard.once('exit', () => r())));
    guard.stdin!.end();
    // The grace timer is cleared once the guard exits: left pending, it kept the finished drill's
    // process alive for another five seconds.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (grace = setTimeout(r, 5000)))]);
    clearTimeout(grace);
    if (guard.exitCode === null) guard.kill('SIGKILL');
    await rm(sockDir, { recursive: true, force: true });
  };
  // If barysafe exits without closing (an error path), the guard still sees its stdin close.
  const unregister = onExit(() => guard.stdin!.destroy());
  return {
    isolation: useNamespace
      ? {
          kind: 'network-namespace',
          detail: `own network namespace (${root ? 'unshare --net' : 'user + network namespace'}); reachable only through ${sockDir}`,
        }
      : { kind: 'none', detail: `no network namespace: ${why}; the instance binds 127.0.0.1 only` },
    wrap: [...nsWrap, ...deathWrap],
    databaseUrl,
    adopt: (pid) => {
      recordProcess(realDir, pid, realDir);
      send(`watch ${pid}`);
    },
    release: (pid) => send(`unwatch ${pid}`),
    adoptContainer: (docker, name) => {
      recordContainer(realDir, docker, name);
      send(`container ${JSON.stringify({ docker, name })}`);
    },
    releaseContainer: (name) => {
      recordContainerRemoved(realDir, name);
      send(`uncontainer ${JSON.stringify({ name })}`);
    },
    close: async () => {
      unregister();
      await close();
    },
  };
}
