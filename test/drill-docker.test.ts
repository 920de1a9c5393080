// The docker launcher against an engine, without one: test/support/fake-docker/docker is first on
// PATH and reaches its "engine" only through DOCKER_HOST, runs the stand-in of the image's build
// with exactly the -e, -v, -w and --user it is given, and logs every invocation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeTempDir, type TempDir } from './support/services.js';
import { REPO_ROOT } from './support/deployments.js';
import { assertAllPass, drillSetup, step, type DrillSetup } from './drill-fixtures.js';

const FAKE_DOCKER_DIR = path.join(REPO_ROOT, 'test/support/fake-docker');
const IMAGE = 'ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5';

type Invocation = {
  argv?: string[];
  client_env?: Record<string, string>;
  container?: string;
  env_names?: string[];
  user?: string;
  implicit_pull?: string;
};

describe('drill.image through a docker CLI and engine', () => {
  let s: DrillSetup;
  let engine: TempDir;
  const saved = { PATH: process.env.PATH, DOCKER_HOST: process.env.DOCKER_HOST };
  const invocations = (): Invocation[] =>
    readFileSync(path.join(engine.path, 'invocations.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Invocation);

  before(async () => {
    s = await drillSetup({ build: 'beta.5' });
    await s.backup();
    engine = await makeTempDir('barysafe-fake-engine-');
    mkdirSync(engine.path, { recursive: true });
    process.env.PATH = `${FAKE_DOCKER_DIR}${path.delimiter}${process.env.PATH}`;
  });
  after(async () => {
    process.env.PATH = saved.PATH;
    if (saved.DOCKER_HOST === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved.DOCKER_HOST;
    await s?.close();
    await engine?.cleanup();
  });

  const viaImage = (extra: Record<string, unknown> = {}) => {
    const { barycenter_bin: _bin, ...drill } = s.config.drill;
    return { ...s.config, drill: { ...drill, image: IMAGE, ...extra } };
  };

  test('the image is pulled before the clock; the exact docker run line; the drill passes through it', async () => {
    process.env.DOCKER_HOST = `unix://${engine.path}/docker.sock`;
    const { result, text } = await s.drill(viaImage());
    assertAllPass(result);
    assert.equal(result.launcher, `docker image ${IMAGE}`);

    const calls = invocations();
    const cmds = calls.filter((c) => c.argv).map((c) => c.argv!.slice(0, 2).join(' '));
    // inspect (missing) -> pull -> inspect, all before the first run; never an implicit pull inside run.
    const firstRun = cmds.findIndex((c) => c.startsWith('run'));
    assert.deepEqual(
      cmds.slice(0, firstRun).filter((c) => c !== 'version --format' && c !== 'info --format'),
      ['image inspect', 'pull ghcr.io/cloudnebulaproject/barycenter:0.2.0-beta.5', 'image inspect'],
    );
    assert.ok(!calls.some((c) => c.implicit_pull), 'no pull inside docker run');

    const runs = calls.filter((c) => c.argv?.[0] === 'run').map((c) => c.argv!);
    assert.equal(runs.length, 2, 'sync-users, then the server');
    const uid = `${process.getuid!()}:${process.getgid!()}`;
    const dir = runs[0]![runs[0]!.indexOf('-w') + 1]!;
    const envNames = runs[0]!.filter((_, i, a) => a[i - 1] === '-e');
    const expected = (name: string, args: string[]) => [
      'run',
      '--rm',
      '--name',
      name,
      '--network',
      'host',
      '--user',
      uid,
      '-v',
      `${dir}:${dir}`,
      '-w',
      dir,
      ...envNames.flatMap((k) => ['-e', k]),
      IMAGE,
      ...args,
    ];
    assert.match(runs[0]![3]!, /^barysafe-drill-[0-9a-f]{8}$/);
    assert.deepEqual(
      runs[0],
      expected(runs[0]![3]!, ['-c', `${dir}/config.toml`, 'sync-users', '--file', `${dir}/drill-users.json`]),
    );
    assert.deepEqual(runs[1], expected(runs[1]![3]!, ['-c', `${dir}/config.toml`]));
    process.stderr.write(`# docker run line: docker ${runs[1]!.join(' ')}\n`);
    // Values only by name, never on the command line; the overrides are among them.
    assert.ok(runs.every((r) => r.every((a) => !/^BARYCENTER__[A-Z_]+=/.test(a))));
    for (const k of ['BARYCENTER__SERVER__HOST', 'BARYCENTER__DATABASE__URL', 'NO_COLOR', 'RUST_LOG'])
      assert.ok(envNames.includes(k), k);

    // DOCKER_HOST reached the CLI, never the container.
    for (const c of calls.filter((x) => x.argv)) assert.equal(c.client_env?.DOCKER_HOST, process.env.DOCKER_HOST);
    for (const c of calls.filter((x) => x.env_names))
      assert.ok(!c.env_names!.some((n) => n.startsWith('DOCKER_')), c.env_names!.join(' '));
    // The container was removed by name at teardown.
    assert.ok(calls.some((c) => c.argv?.[0] === 'rm' && c.argv[2] === runs[1]![3]));

    // The drill knows which image it booted.
    assert.equal(result.barycenter_build.drill?.kind, 'image');
    assert.match(JSON.stringify(result.barycenter_build.drill), /"id":"sha256:[0-9a-f]{64}"/);
    assert.match(text, /drill image ghcr\.io\/cloudnebulaproject\/barycenter:0\.2\.0-beta\.5/);
  });

  test('without DOCKER_HOST the engine is not found: an error naming drill.image, nothing started', async () => {
    delete process.env.DOCKER_HOST;
    const { result } = await s.drill(viaImage());
    assert.equal(step(result, 'boot').verdict, 'error');
    assert.match(step(result, 'boot').detail, /drill\.image is set .* but no Docker engine answers/);
  });

  test("a rootless engine runs the container as its root (= barysafe's user); SELinux relabel adds :Z", async () => {
    process.env.DOCKER_HOST = `unix://${engine.path}/docker.sock`;
    writeFileSync(path.join(engine.path, 'rootless'), '');
    const before = invocations().length;
    const { result } = await s.drill(viaImage({ selinux_relabel: true }));
    const runs = invocations()
      .slice(before)
      .filter((c) => c.argv?.[0] === 'run')
      .map((c) => c.argv!);
    assert.ok(runs.length > 0);
    for (const r of runs) {
      assert.equal(r[r.indexOf('--user') + 1], '0:0');
      assert.match(r[r.indexOf('-v') + 1]!, /^(.+):\1:Z$/);
    }
    if (process.getuid!() === 0) assertAllPass(result);
  });
});
