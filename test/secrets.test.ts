// No secret — JWK private members, the DB password, the age identity, the manifest signing key —
// appears in a log line, a manifest, a --json document or an error message.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { getPostgres, type TestPostgres } from './support/services.js';
import { makeDeployment, runCli, setupBarysafe } from './support/deployments.js';

let pgService: TestPostgres;
before(async () => {
  pgService = await getPostgres();
});
after(async () => {
  await pgService?.stop();
});

async function secretsOf(workdir: string, etc: string, dbUrl: string): Promise<Map<string, string>> {
  const jwk = JSON.parse(await readFile(path.join(workdir, 'data/private_key.pem'), 'utf8')) as Record<string, string>;
  const secrets = new Map<string, string>();
  for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi']) secrets.set(`JWK ${m}`, jwk[m]!.slice(0, 24));
  const identity = (await readFile(path.join(etc, 'identity.txt'), 'utf8'))
    .split('\n')
    .find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
  secrets.set('age identity', identity.slice(15, 45));
  const signing = (await readFile(path.join(etc, 'signing.pem'), 'utf8')).split('\n')[1]!;
  secrets.set('signing key', signing.slice(0, 40));
  const password = decodeURIComponent(new URL(dbUrl).password);
  assert.ok(password.length >= 8, 'the test database has a real password');
  secrets.set('DB password', password);
  return secrets;
}

function assertClean(what: string, text: string, secrets: Map<string, string>) {
  for (const [name, value] of secrets) assert.ok(!text.includes(value), `${name} leaked into ${what}`);
}

test('successful and failing runs print, log and store no secret', async () => {
  const dbUrl = await pgService.createDatabase();
  const d = await makeDeployment({ databaseUrl: dbUrl });
  try {
    const repoRoot = path.join(d.dir.path, 'repository');
    const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
    await writeFile(
      s.configPath,
      (await readFile(s.configPath, 'utf8')) +
        (pgService.binDir ? `\n[backup]\npg_bin_dir = "${pgService.binDir}"\n` : ''),
    );
    const secrets = await secretsOf(d.workdir, s.etc, dbUrl);
    const env = { BARYSAFE_LOG_LEVEL: 'debug' };

    const outputs: Array<[string, string]> = [];
    const b = await runCli(['--config', s.configPath, '--json', 'backup'], { env });
    assert.equal(b.code, 0, b.stderr);
    outputs.push(['backup --json', b.stdout], ['backup logs', b.stderr]);
    const list = await runCli(['--config', s.configPath, '--json', 'snapshots'], { env });
    outputs.push(['snapshots --json', list.stdout + list.stderr]);
    const restore = await runCli(
      ['--config', s.configPath, '--json', 'restore', 'latest', '--to', path.join(d.dir.path, 'r')],
      { env },
    );
    assert.equal(restore.code, 0, restore.stderr);
    outputs.push(['restore --json', restore.stdout + restore.stderr]);
    const check = await runCli(['--config', s.configPath, '--json', 'check'], { env });
    assert.ok(check.stdout.startsWith('{'), `check printed JSON: ${check.stderr}`);
    outputs.push(['check --json', check.stdout + check.stderr]);
    for (const id of await readdir(path.join(repoRoot, 'snapshots'))) {
      outputs.push([`manifest ${id}`, await readFile(path.join(repoRoot, 'snapshots', id, 'manifest.json'), 'utf8')]);
    }

    // Failures whose messages come from libraries that like to echo connection strings.
    const config = await readFile(d.configPath, 'utf8');
    const deadUrl = dbUrl.replace(/@[^/]+\//, '@127.0.0.1:1/');
    await writeFile(d.configPath, config.replace(dbUrl, deadUrl));
    const dead = await runCli(['--config', s.configPath, '--json', 'backup'], { env });
    assert.notEqual(dead.code, 0);
    assert.match(
      dead.stderr,
      /cannot connect to PostgreSQL postgres(ql)?:\/\/[^:]+:\*\*\*@127\.0\.0\.1:1\//,
      'the URL is shown, redacted',
    );
    outputs.push(['backup error (dead server)', dead.stdout + dead.stderr]);
    const wrongPw = dbUrl.replace(/:([^:@/]+)@/, ':wrong-$1@');
    await writeFile(d.configPath, config.replace(dbUrl, wrongPw));
    const denied = await runCli(['--config', s.configPath, '--json', 'backup'], { env });
    assert.notEqual(denied.code, 0);
    outputs.push(['backup error (bad password)', denied.stdout + denied.stderr]);

    for (const [what, text] of outputs) assertClean(what, text, secrets);
  } finally {
    await d.dir.cleanup();
    await pgService.dropDatabase(new URL(dbUrl).pathname.slice(1));
  }
});
