// checks.compose_file: a Compose service read as `docker inspect` would show the container, so the
// checks can judge Barycenter's own docker-compose.yml before it runs.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readComposeService } from '../src/checks/evidence/compose.js';
import { dockerMountOf, publishedBindings } from '../src/checks/evidence/docker.js';
import { checkContext, expectStatus, runCheck, testConfig } from './support/check-context.js';
import { makeTempDir, type TempDir } from './support/services.js';

// The shape of Barycenter's shipped docker-compose.yml (its security settings, port and volume).
const BARYCENTER_COMPOSE = `
version: "3.8"
services:
  barycenter:
    build: .
    image: barycenter:latest
    container_name: barycenter
    restart: unless-stopped
    ports:
      - "8080:8080"
    environment:
      - RUST_LOG=info
    volumes:
      - barycenter-data:/app/data
    security_opt:
      - no-new-privileges:true
    read_only: false
    cap_drop:
      - ALL
volumes:
  barycenter-data:
`;

let tmp: TempDir;
let file: string;
before(async () => {
  tmp = await makeTempDir('barysafe-compose-');
  file = path.join(tmp.path, 'docker-compose.yml');
  await writeFile(file, BARYCENTER_COMPOSE);
});
after(async () => {
  await tmp?.cleanup();
});

test('a compose service maps to the fields of docker inspect the checks read', async () => {
  const other = path.join(tmp.path, 'other.yml');
  await writeFile(
    other,
    `services:
  s:
    user: 1000
    ports: ["127.0.0.1:9752:9752", "[::1]:8081:8081/tcp", "8082", { target: 8083, published: 18083, host_ip: 10.0.0.1 }]
    environment: { A: "1", EMPTY: null, N: 3 }
    volumes: ["./conf:/app/config:ro", "data:/app/data", { type: tmpfs, target: /scratch }]
    tmpfs: /tmp:rw,noexec,size=64m
`,
  );
  const c = await readComposeService(other, 's');
  assert.equal(c.Config?.User, '1000');
  assert.deepEqual(c.Config?.Env, ['A=1', 'EMPTY', 'N=3']);
  assert.deepEqual(publishedBindings(c, 9752), [
    { hostIp: '127.0.0.1', hostPort: '9752', field: 'HostConfig.PortBindings["9752/tcp"]' },
  ]);
  assert.equal(publishedBindings(c, 8081)[0]?.hostIp, '::1');
  // Only a container port: published on an ephemeral port of every interface.
  assert.equal(publishedBindings(c, 8082)[0]?.hostIp, '0.0.0.0');
  assert.deepEqual(publishedBindings(c, 8083)[0], {
    hostIp: '10.0.0.1',
    hostPort: '18083',
    field: 'HostConfig.PortBindings["8083/tcp"]',
  });
  assert.deepEqual(dockerMountOf(c, '/app/config/config.toml'), {
    type: 'bind',
    destination: '/app/config',
    name: './conf',
    rw: false,
  });
  assert.equal(dockerMountOf(c, '/app/data/private_key.pem')?.name, 'data');
  assert.equal(dockerMountOf(c, '/tmp/x')?.type, 'tmpfs');
  assert.equal(c.HostConfig?.ReadonlyRootfs, false);
  await assert.rejects(readComposeService(other, 'barycenter'), /has no service "barycenter" \(services: s\)/);
});

test("Barycenter's compose file: no-new-privileges and dropped capabilities pass, the writable root fails, the user is the image's", async () => {
  const ctx = checkContext(
    testConfig({
      barycenter: { config: path.join(tmp.path, 'absent.toml'), workdir: tmp.path },
      checks: { deployment: 'docker', compose_file: file },
    }),
  );
  expectStatus(await runCheck(ctx, 'container.no-new-privileges'), 'pass', 'no-new-privileges');
  expectStatus(await runCheck(ctx, 'container.capabilities-dropped'), 'pass', 'capabilities');
  const ro = await runCheck(ctx, 'container.read-only-rootfs');
  expectStatus(ro, 'fail', 'read-only-rootfs');
  assert.ok(
    ro.evidence.some((e) => /compose file .*docker-compose\.yml \(service barycenter\)/.test(String(e.source))),
  );
  // The file sets no user: the check does not claim root, it says the image decides.
  const user = await runCheck(ctx, 'process.non-root');
  assert.notEqual(user.status, 'pass', user.summary);
  assert.notEqual(user.status, 'fail', user.summary);
  assert.match(user.summary, /no user is set, so the image's USER decides/);
});
