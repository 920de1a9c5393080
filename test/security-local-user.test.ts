// Attacks by a local unprivileged user (uid 65534 through setpriv) on what barysafe writes on the
// host: the private temp space (review V1, V2), `init --force` (V12) and `check --output` (V15).
// Each test reproduces the review's attack and shows it fails and nothing is lost.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  ATTACKER_UID,
  SWAPPER_SOURCE,
  attackerSh,
  canImpersonate,
  sharedArea,
  startAttackerScript,
  type SharedArea,
} from './support/attacker.js';
import { makeDeployment, runCli, setupBarysafe, type Deployment } from './support/deployments.js';
import { ExitCode } from '../src/errors.js';

const skip = canImpersonate ? false : 'needs root to act as the unprivileged attacker';

/** A backed-up deployment whose barysafe keeps its temp files under the shared (sticky, world-writable) dir. */
async function deploymentUsingSharedTmp(area: SharedArea) {
  const d = await makeDeployment();
  const repoRoot = path.join(d.dir.path, 'repository');
  const s = await setupBarysafe(d, { url: `file://${repoRoot}` });
  await writeFile(s.configPath, (await readFile(s.configPath, 'utf8')) + `\n[backup]\ntemp_dir = "${area.tmp}"\n`);
  return { d, s, repoRoot };
}

/** Everything under `dir` the attacker manages to read, concatenated. */
async function readableByAttacker(dir: string): Promise<string> {
  const r = await attackerSh(`find ${JSON.stringify(dir)} -type f -exec cat {} + 2>/dev/null; true`);
  return r.stdout;
}

/** The attacker's own pre-created temp root, in the review's two shapes. */
async function plantTempRoot(area: SharedArea, shape: 'directory' | 'symlink'): Promise<string> {
  const planted = path.join(area.tmp, `barysafe-${process.getuid!()}`);
  const drop = path.join(area.attackerDir, 'drop');
  const r = await attackerSh(
    shape === 'directory'
      ? `mkdir -m 777 ${JSON.stringify(planted)} && mkdir -m 777 -p ${JSON.stringify(drop)}`
      : `mkdir -m 777 -p ${JSON.stringify(drop)} && ln -s ${JSON.stringify(drop)} ${JSON.stringify(planted)}`,
  );
  assert.equal(r.code, 0, r.stderr);
  return drop;
}

async function assertNoAttackerSuccess(output: string) {
  assert.doesNotMatch(output, /^(SWAPPED|READ|REPLACED) /m, `the attacker got somewhere:\n${output}`);
}

describe('a local user and the private temp space', { skip }, () => {
  for (const shape of ['directory', 'symlink'] as const) {
    test(`V1: a temp root pre-created as a ${shape} by another user is never used, so restore installs only the signed key`, async () => {
      const area = await sharedArea();
      const { d, s } = await deploymentUsingSharedTmp(area);
      try {
        // As in the review: the attacker is first (e.g. right after a reboot cleared /tmp).
        const drop = await plantTempRoot(area, shape);
        // The forged key the attacker would like installed, ready in their drop directory.
        await attackerSh(
          `printf '%s' '{"kty":"RSA","kid":"MALLORY-KEY"}' > ${JSON.stringify(path.join(drop, 'private_key.pem'))}`,
        );
        const swapper = await startAttackerScript(area, 'swapper.js', SWAPPER_SOURCE, [area.tmp, drop]);
        const b = await runCli(['--config', s.configPath, 'backup']);
        assert.equal(b.code, 0, b.stderr);
        const to = path.join(d.dir.path, 'restored');
        const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
        const attackerLog = await swapper.stop();
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          await readFile(path.join(to, 'private_key.pem')),
          await readFile(path.join(d.workdir, 'data/private_key.pem')),
          'the restored key is production’s, byte for byte',
        );
        await assertNoAttackerSuccess(attackerLog);
        const planted = path.join(area.tmp, `barysafe-${process.getuid!()}`);
        assert.equal(lstatSync(planted).uid, ATTACKER_UID, 'the planted root is left as it was');
        if (shape === 'directory') assert.deepEqual(readdirSync(planted), [], 'barysafe wrote nothing into it');
        assert.deepEqual(
          readdirSync(drop).sort(),
          ['private_key.pem'],
          'nothing of barysafe landed in the drop directory',
        );
        const key = JSON.parse(await readFile(path.join(d.workdir, 'data/private_key.pem'), 'utf8')) as { d: string };
        assert.ok(!(await readableByAttacker(area.tmp)).includes(key.d), 'no plaintext key readable by the attacker');
      } finally {
        await d.dir.cleanup();
        await area.cleanup();
      }
    });
  }

  test('V2: a root backup never writes the plaintext database into a file the attacker planted', async () => {
    const area = await sharedArea();
    const { d, s } = await deploymentUsingSharedTmp(area);
    try {
      const drop = await plantTempRoot(area, 'directory');
      const bait = path.join(drop, 'barycenter.db');
      const r0 = await attackerSh(`touch ${JSON.stringify(bait)} && chmod 666 ${JSON.stringify(bait)}`);
      assert.equal(r0.code, 0, r0.stderr);
      const swapper = await startAttackerScript(area, 'swapper.js', SWAPPER_SOURCE, [area.tmp, drop]);
      const b = await runCli(['--config', s.configPath, 'backup']);
      const attackerLog = await swapper.stop();
      assert.equal(b.code, 0, b.stderr);
      await assertNoAttackerSuccess(attackerLog);
      assert.equal(statSync(bait).size, 0, 'the planted file stayed empty');
      assert.equal(statSync(bait).uid, ATTACKER_UID);
      const loot = await readableByAttacker(area.tmp);
      assert.ok(!loot.includes('SQLite format 3'), 'no SQLite plaintext readable by the attacker');
      // What the backup saved is the real database.
      const to = path.join(d.dir.path, 'restored');
      const r = await runCli(['--config', s.configPath, 'restore', 'latest', '--to', to]);
      assert.equal(r.code, 0, r.stderr);
      const db = new Database(path.join(to, 'barycenter.db'), { readonly: true });
      try {
        assert.equal((db.prepare('SELECT count(*) AS n FROM clients').get() as { n: number }).n, 1);
      } finally {
        db.close();
      }
    } finally {
      await d.dir.cleanup();
      await area.cleanup();
    }
  });

  test('a temp_dir another user can change (writable, no sticky bit) is refused before any plaintext is written', async () => {
    const area = await sharedArea();
    const { d, s } = await deploymentUsingSharedTmp(area);
    try {
      const open = path.join(area.attackerDir, 'open-tmp'); // inside a 0777 dir the attacker owns
      await writeFile(
        s.configPath,
        (await readFile(s.configPath, 'utf8')).replace(/temp_dir = ".*"/, `temp_dir = "${open}"`),
      );
      const b = await runCli(['--config', s.configPath, 'backup']);
      assert.equal(b.code, ExitCode.USAGE, b.stderr);
      assert.match(b.stderr, /refusing to keep plaintext under .*open-tmp: .*mallory/);
      assert.ok(!existsSync(path.join(open, `barysafe-${process.getuid!()}`)));
    } finally {
      await d.dir.cleanup();
      await area.cleanup();
    }
  });
});

describe('files barysafe writes where someone else may have been first', { skip }, () => {
  test('V12: init --force rewrites kept identity and signing key files 0600, without writing through a planted link', async () => {
    const area = await sharedArea();
    const d: Deployment = await makeDeployment();
    try {
      const dir = path.join(d.dir.path, 'etc-barysafe');
      const first = await runCli(['init', '--dir', dir, '--repository', `file://${d.dir.path}/repo`]);
      assert.equal(first.code, 0, first.stderr);
      chmodSync(path.join(dir, 'identity.txt'), 0o644);
      chmodSync(path.join(dir, 'signing.pem'), 0o644);
      // A victim file the identity path now points at.
      const victim = path.join(d.dir.path, 'victim.txt');
      await writeFile(victim, 'victim\n', { mode: 0o644 });
      await rm(path.join(dir, 'signing.pub.pem'));
      await symlink(victim, path.join(dir, 'signing.pub.pem'));
      const again = await runCli(['init', '--dir', dir, '--repository', `file://${d.dir.path}/repo`, '--force']);
      assert.equal(again.code, 0, again.stderr);
      for (const f of ['identity.txt', 'signing.pem', 'signing.pub.pem', 'barysafe.toml']) {
        const st = lstatSync(path.join(dir, f));
        assert.ok(st.isFile(), `${f} is a regular file`);
        assert.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
      }
      assert.equal(await readFile(victim, 'utf8'), 'victim\n', 'the link target was not written');
      assert.equal(statSync(victim).mode & 0o777, 0o644, 'nor re-moded');
    } finally {
      await d.dir.cleanup();
      await area.cleanup();
    }
  });

  test('V15: check --output onto a file another user owns replaces it; they cannot read the report', async () => {
    const area = await sharedArea();
    const d = await makeDeployment();
    try {
      const s = await setupBarysafe(d, { url: `file://${d.dir.path}/repo` });
      const out = path.join(area.tmp, 'report.txt');
      const keep = path.join(area.attackerDir, 'keep.txt');
      const r0 = await attackerSh(
        `: > ${JSON.stringify(out)} && chmod 666 ${JSON.stringify(out)} && ln ${JSON.stringify(out)} ${JSON.stringify(keep)}`,
      );
      assert.equal(r0.code, 0, r0.stderr);
      const r = await runCli(['--config', s.configPath, 'check', '--deployment', 'plain', '--output', out]);
      assert.ok(r.code === 0 || r.code === ExitCode.CHECK_FAILED, r.stderr);
      const st = statSync(out);
      assert.equal(st.uid, process.getuid!(), 'the report is a new file of ours');
      assert.equal(st.mode & 0o777, 0o640);
      assert.ok((await readFile(out, 'utf8')).length > 100, 'the report was written');
      assert.equal(statSync(keep).size, 0, 'the attacker’s inode never received the report');
      const peek = await attackerSh(`cat ${JSON.stringify(out)}`);
      assert.notEqual(peek.code, 0, 'the attacker cannot read the report');
    } finally {
      await d.dir.cleanup();
      await area.cleanup();
    }
  });

  test('check --output into a directory that does not exist is a usage error naming it', async () => {
    const d = await makeDeployment();
    try {
      const s = await setupBarysafe(d, { url: `file://${d.dir.path}/repo` });
      const r = await runCli([
        '--config',
        s.configPath,
        'check',
        '--deployment',
        'plain',
        '--output',
        path.join(d.dir.path, 'no/such/dir/r.txt'),
      ]);
      assert.equal(r.code, ExitCode.USAGE, r.stderr);
      assert.match(r.stderr, /does not exist/);
    } finally {
      await d.dir.cleanup();
    }
  });
});
