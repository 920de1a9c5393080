// No secret in any evidence record (payloads decoded), stored check or audit report, or report
// format, for a PostgreSQL deployment whose config holds the database password — also when a
// backup fails with an error that names the connection.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getPostgres, type TestPostgres } from './support/services.js';
import { makeDeployment, runCli, setupFileRepository } from './support/deployments.js';

let pgService: TestPostgres;
before(async () => {
  pgService = await getPostgres();
});
after(async () => {
  await pgService?.stop();
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) out.push(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  return out;
}

test('records, stored reports and every report format hold no secret', async () => {
  const dbUrl = await pgService.createDatabase();
  const d = await makeDeployment({ databaseUrl: dbUrl });
  try {
    const s = await setupFileRepository(d, pgService.binDir ? `pg_bin_dir = "${pgService.binDir}"\n` : '');
    const password = decodeURIComponent(new URL(dbUrl).password);
    assert.ok(password.length >= 8);
    assert.ok((await readFile(d.configPath, 'utf8')).includes(password), 'the config holds the DB password');
    const jwk = JSON.parse(await readFile(path.join(d.workdir, 'data/private_key.pem'), 'utf8')) as Record<
      string,
      string
    >;
    const identity = (await readFile(s.identityFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
    const signing = (await readFile(path.join(s.etc, 'signing.pem'), 'utf8')).split('\n')[1]!;
    const secrets: Record<string, string> = {
      'DB password': password,
      'JWK d': jwk.d!.slice(0, 24),
      'JWK p': jwk.p!.slice(0, 24),
      'age identity': identity.slice(15, 45),
      'signing key': signing.slice(0, 40),
    };
    const texts: Array<[string, string]> = [];
    const cli = async (...args: string[]) => {
      const r = await runCli(['--config', s.configPath, ...args], { env: { BARYSAFE_LOG_LEVEL: 'debug' } });
      texts.push([args.join(' '), r.stdout + r.stderr]);
      return r;
    };
    assert.equal((await cli('--json', 'backup')).code, 0);
    const config = await readFile(d.configPath, 'utf8');
    await writeFile(d.configPath, config.replace(dbUrl, dbUrl.replace(/@[^/]+\//, '@127.0.0.1:1/')));
    assert.notEqual((await cli('--json', 'backup')).code, 0);
    await writeFile(d.configPath, config);
    await cli('--json', 'check');
    for (const [format, ext] of [
      ['html', 'html'],
      ['markdown', 'md'],
      ['json', 'json'],
      ['pdf', 'pdf'],
    ] as const) {
      const out = path.join(d.dir.path, `report.${ext}`);
      const r = await cli('report', '--format', format, '--output', out, ...(format === 'json' ? ['--store'] : []));
      assert.equal(r.code, 0, r.stderr);
      texts.push([
        `report.${ext}`,
        format === 'pdf' ? await readFile(`${out}.intoto.jsonl`, 'utf8') : await readFile(out, 'utf8'),
      ]);
    }
    assert.equal((await cli('--json', 'verify-evidence')).code, 0);

    const stored = await filesUnder(s.repoRoot);
    const records = stored.filter((f) => f.includes(`${path.sep}evidence${path.sep}`));
    assert.ok(records.length >= 4, `records: ${records.length}`);
    assert.ok(stored.some((f) => f.includes(`${path.sep}checks${path.sep}`)));
    assert.ok(stored.some((f) => f.includes(`${path.sep}reports${path.sep}`)));
    for (const f of stored.filter((x) => !x.endsWith('.age'))) {
      const text = await readFile(f, 'utf8');
      texts.push([f, text]);
      // Signed payloads are base64: look inside them too.
      for (const line of text.split('\n').filter((l) => l.startsWith('{"payloadType"')))
        texts.push([`${f} payload`, Buffer.from(JSON.parse(line).payload, 'base64').toString('utf8')]);
    }
    // The reports embed their envelopes: decode those payloads as well.
    for (const [name, text] of [...texts]) {
      const m = /"payload":"([A-Za-z0-9+/=]+)"/.exec(text) ?? /barysafe-attestation: ([A-Za-z0-9+/=]+) /.exec(text);
      if (!m) continue;
      const inner = Buffer.from(m[1]!, 'base64').toString('utf8');
      texts.push([`${name} (decoded)`, inner]);
      const p = /"payload":"([A-Za-z0-9+/=]+)"/.exec(inner);
      if (p) texts.push([`${name} (payload)`, Buffer.from(p[1]!, 'base64').toString('utf8')]);
    }
    for (const [what, text] of texts)
      for (const [name, value] of Object.entries(secrets))
        assert.ok(!text.includes(value), `${name} leaked into ${what}`);
  } finally {
    await d.dir.cleanup();
    await pgService.dropDatabase(new URL(dbUrl).pathname.slice(1));
  }
});
