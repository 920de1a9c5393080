// A fake `docker` CLI for tests on machines without an engine (put this directory first on PATH).
// Like the real CLI it needs DOCKER_HOST to reach its "engine": unix://<dir>/docker.sock, where
// <dir> holds the engine's state (pulled images, running containers, invocations.jsonl) — so a
// launcher that does not pass DOCKER_HOST to the CLI fails here as it would against a rootless or
// remote engine. `docker run` starts the Barycenter stand-in of the image's build with exactly the
// -e, -v, -w and --user it was given: only -e variables reach the "container", paths outside a -v
// mount do not exist in it, and it runs as the --user uid.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(repo, 'dist/test/support/barycenter/main.js');
/** Images this engine can pull, and the build their binary is. */
const IMAGES = {
  'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5': 'beta.5',
  'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.14': 'beta.14',
  'barycenter:8218d6f': '8218d6f', // no published image: built locally, so no repo digest
};
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const argv = process.argv.slice(2);
const host = process.env.DOCKER_HOST;
const m = host && /^unix:\/\/(.+)\/docker\.sock$/.exec(host);
if (!m || !fs.existsSync(m[1])) {
  process.stderr.write(
    `Cannot connect to the Docker daemon at ${host || 'unix:///var/run/docker.sock'}. Is the docker daemon running?\n`,
  );
  process.exit(1);
}
const state = m[1];
const log = (entry) => fs.appendFileSync(path.join(state, 'invocations.jsonl'), JSON.stringify(entry) + '\n');
const clientEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DOCKER_')));
log({ argv, client_env: clientEnv });

const pulledFile = path.join(state, 'pulled.json');
const pulled = () => (fs.existsSync(pulledFile) ? JSON.parse(fs.readFileSync(pulledFile, 'utf8')) : []);
const hex = (s) => createHash('sha256').update(s).digest('hex');
const fail = (code, msg) => {
  process.stderr.write(msg + '\n');
  process.exit(code);
};

switch (argv[0]) {
  case 'version':
    process.stdout.write('27.0.0-fake\n');
    break;
  case 'info': {
    const rootless = fs.existsSync(path.join(state, 'rootless'));
    process.stdout.write(
      JSON.stringify(['name=seccomp,profile=builtin', ...(rootless ? ['name=rootless'] : [])]) + '\n',
    );
    break;
  }
  case 'pull': {
    const image = argv[1];
    if (!IMAGES[image]) fail(1, `Error response from daemon: manifest for ${image} not found: manifest unknown`);
    fs.writeFileSync(pulledFile, JSON.stringify([...new Set([...pulled(), image])]));
    process.stdout.write(
      `${image.split(':').pop()}: Pulling from ${image.split(':')[0]}\nStatus: Downloaded newer image for ${image}\n`,
    );
    break;
  }
  case 'image':
    if (argv[1] !== 'inspect') fail(1, `unknown command: docker image ${argv[1]}`);
    {
      const image = argv[argv.length - 1];
      if (!pulled().includes(image)) fail(1, `Error response from daemon: No such image: ${image}`);
      const digests = image.startsWith('ghcr.io/') ? [`${image.split(':')[0]}@sha256:${hex(`digest:${image}`)}`] : [];
      process.stdout.write(`sha256:${hex(`id:${image}`)} ${JSON.stringify(digests)}\n`);
    }
    break;
  case 'rm': {
    const name = argv[argv.length - 1];
    const pidFile = path.join(state, `container-${name}.pid`);
    if (!fs.existsSync(pidFile)) fail(1, `Error response from daemon: No such container: ${name}`);
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* already gone */
    }
    fs.rmSync(pidFile, { force: true });
    process.stdout.write(name + '\n');
    break;
  }
  case 'run':
    run(argv.slice(1));
    break;
  default:
    fail(1, `docker: '${argv[0]}' is not a docker command (fake)`);
}

function run(args) {
  const o = { rm: false, env: [], mounts: [] };
  let i = 0;
  const value = () => {
    if (i + 1 >= args.length) fail(125, `flag needs an argument: ${args[i]}`);
    return args[++i];
  };
  for (; i < args.length && args[i].startsWith('-'); i++) {
    const a = args[i];
    if (a === '--rm') o.rm = true;
    else if (a === '--name') o.name = value();
    else if (a === '--network') o.network = value();
    else if (a === '--user' || a === '-u') o.user = value();
    else if (a === '--userns') o.userns = value();
    else if (a === '-v' || a === '--volume') o.mounts.push(value());
    else if (a === '-w' || a === '--workdir') o.workdir = value();
    else if (a === '-e' || a === '--env') o.env.push(value());
    else fail(125, `unknown flag: ${a}`);
  }
  const image = args[i];
  const cmd = args.slice(i + 1);
  if (!image) fail(125, '"docker run" requires at least 1 argument.');
  if (!IMAGES[image])
    fail(125, `Unable to find image '${image}' locally\nError response from daemon: manifest unknown`);
  if (!pulled().includes(image)) {
    // The real CLI pulls implicitly here; the log shows it happened inside `run`.
    log({ implicit_pull: image });
    fs.writeFileSync(pulledFile, JSON.stringify([...new Set([...pulled(), image])]));
  }
  if (o.network !== 'host') fail(125, 'this fake engine only runs --network host');
  const mounts = o.mounts.map((v) => {
    const [src, dest, opt] = v.split(':');
    // The fake cannot remap paths, so a mount must keep its path (the launcher mounts it so).
    if (src !== dest) fail(125, `fake engine: mount ${v} changes the path`);
    if (opt !== undefined && opt !== 'Z' && opt !== 'z' && opt !== 'ro') fail(125, `invalid mode: ${opt}`);
    return dest;
  });
  const visible = (p) => mounts.some((d) => p === d || p.startsWith(d + '/'));
  if (o.workdir && !visible(o.workdir))
    fail(
      126,
      `OCI runtime exec failed: chdir to cwd ("${o.workdir}") set in config.json failed: no such file or directory`,
    );
  // Barycenter's arguments that are paths must be inside a mount, or the container cannot see them.
  for (const a of cmd) if (path.isAbsolute(a) && !visible(a)) fail(1, `Error: ${a} does not exist in the container`);
  const containerEnv = { PATH: IMAGE_PATH, STANDIN_BARYCENTER_BUILD: IMAGES[image] };
  for (const e of o.env) {
    const eq = e.indexOf('=');
    if (eq > 0) containerEnv[e.slice(0, eq)] = e.slice(eq + 1);
    else if (process.env[e] !== undefined) containerEnv[e] = process.env[e];
  }
  log({
    container: o.name,
    image,
    user: o.user,
    userns: o.userns,
    workdir: o.workdir,
    mounts: o.mounts,
    env_names: Object.keys(containerEnv).sort(),
    cmd,
  });
  let exe = process.execPath;
  let exeArgs = [MAIN, ...cmd];
  const uid = process.getuid();
  if (o.user) {
    const [u, g] = o.user.split(':');
    if (Number(u) !== uid) {
      // Another uid: as root run it under that uid, as the container would; otherwise it cannot start.
      if (uid !== 0) fail(126, `fake engine: cannot run as ${o.user} without root`);
      exeArgs = ['--reuid', u, '--regid', g ?? u, '--clear-groups', exe, ...exeArgs];
      exe = 'setpriv';
    }
  }
  // Detached: a container belongs to the engine, not to the CLI's process group, so killing the
  // CLI (even its whole group) leaves it running, as with the real engine; `docker rm -f` ends it.
  const child = spawn(exe, exeArgs, { cwd: o.workdir ?? '/', env: containerEnv, stdio: 'inherit', detached: true });
  if (o.name) fs.writeFileSync(path.join(state, `container-${o.name}.pid`), String(child.pid));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig)); // docker run proxies signals
  child.on('exit', (code, signal) => {
    if (o.name) fs.rmSync(path.join(state, `container-${o.name}.pid`), { force: true });
    process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGINT' ? 2 : 15));
  });
}
