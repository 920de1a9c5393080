// The chain cannot be frozen, poisoned or rolled back unnoticed: the review's V5 (a future-dated
// junk manifest froze every backup or became the chain's previous link), V6 (deleting the newest
// snapshots made `restore latest` quietly restore an older one) and D16 (a broken chain link kept
// the drill from testing the snapshot), reproduced as someone who can write the repository but
// holds neither the signing key nor this host's state directory.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode } from '../src/errors.js';
import { manifestKey } from '../src/repository/layout.js';
import { newSnapshotId, type Manifest } from '../src/repository/manifest.js';
import { idTime } from '../src/repository/chain.js';
import { makeDeployment, runCli, setupBarysafe, type BarysafeSetup, type Deployment } from './support/deployments.js';
import { BARYCENTER_BIN } from './support/barycenter/launch.js';
import { rawRepo, type BackendKind, type RawRepo } from './support/raw-repo.js';
import { getS3, useS3Credentials, type TestS3 } from './support/services.js';
import { assertScratchGone, drillSetup, step } from './drill-fixtures.js';

let s3: TestS3;
before(async () => {
  s3 = await getS3();
  useS3Credentials(s3);
});
after(async () => {
  await s3?.stop();
});

interface Repo {
  d: Deployment;
  s: BarysafeSetup;
  raw: RawRepo;
  ids: string[];
  cli(args: string[]): ReturnType<typeof runCli>;
  backup(): Promise<{ code: number | null; id: string; manifest: Manifest; stderr: string }>;
  close(): Promise<void>;
}

/** A deployment backed up `n` times into a fresh repository of `kind`. */
async function backedUp(kind: BackendKind, n: number): Promise<Repo> {
  const d = await makeDeployment();
  const raw = await rawRepo(kind, d.dir.path, s3);
  const s = await setupBarysafe(d, { url: raw.url, extra: raw.extra });
  await appendFile(s.configPath, `\n[drill]\nbarycenter_bin = "${BARYCENTER_BIN}"\nboot_timeout = "30s"\n`);
  const self: Repo = {
    d,
    s,
    raw,
    ids: [],
    cli: (args) => runCli(['--config', s.configPath, ...args], { env: raw.env }),
    backup: async () => {
      const r = await self.cli(['--json', 'backup']);
      assert.ok(r.stdout, r.stderr);
      const snap = (JSON.parse(r.stdout) as { snapshot?: { id: string } }).snapshot;
      assert.ok(snap, `the backup saved no snapshot (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      const manifest = JSON.parse((await raw.read(manifestKey(snap.id))).toString()) as Manifest;
      return { code: r.code, id: snap.id, manifest, stderr: r.stderr };
    },
    close: () => d.dir.cleanup(),
  };
  for (let i = 0; i < n; i++) {
    const b = await self.backup();
    assert.equal(b.code, 0, b.stderr);
    self.ids.push(b.id);
  }
  return self;
}

/** Every object of a snapshot: what a writer of the bucket deletes to roll it back. */
async function deleteSnapshot(raw: RawRepo, id: string): Promise<void> {
  for (const k of await raw.keys()) if (k.startsWith(`snapshots/${id}/`)) await raw.remove(k);
}

async function emptyDir(parent: string, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, `${name}-`));
  await rm(dir, { recursive: true });
  return dir;
}

describe('a rolled-back repository is reported, not restored', () => {
  for (const kind of ['file', 's3'] as const) {
    test(`V6 (${kind}): with the two newest snapshots deleted, restore latest, the drill and check exit 13 naming the missing snapshot; --allow-rollback restores the older one with a warning; the next backup saves, chained to the anchor, and exits 3`, async () => {
      const r = await backedUp(kind, 3);
      try {
        const [a, b, c] = r.ids as [string, string, string];
        await deleteSnapshot(r.raw, c);
        await deleteSnapshot(r.raw, b);

        const to = await emptyDir(r.d.dir.path, 'restored');
        const restore = await r.cli(['restore', 'latest', '--to', to]);
        assert.equal(restore.code, ExitCode.INTEGRITY, restore.stderr);
        assert.match(restore.stderr, /was rolled back/);
        assert.match(restore.stderr, new RegExp(`anchored snapshot ${c} .*is gone`));
        assert.match(restore.stderr, new RegExp(`newest verified snapshot ${a} .*is older than ${c}`));
        assert.match(restore.stderr, /--allow-rollback/);
        assert.ok(!existsSync(to) || readdirSync(to).length === 0, 'nothing was restored');

        const drill = await r.cli(['restore', 'latest', '--verify']);
        assert.equal(drill.code, ExitCode.INTEGRITY, drill.stdout + drill.stderr);
        assert.match(drill.stdout + drill.stderr, new RegExp(`rolled back.*${c}`));

        const check = await r.cli(['check', '--only', 'backup.rollback']);
        assert.equal(check.code, ExitCode.INTEGRITY, check.stdout + check.stderr);
        assert.match(check.stdout, /FAIL/);
        assert.match(check.stdout, new RegExp(c));

        const allowed = await r.cli(['restore', 'latest', '--to', to, '--allow-rollback']);
        assert.equal(allowed.code, 0, allowed.stderr);
        assert.match(allowed.stdout + allowed.stderr, new RegExp(`rollback \\(allowed\\): .*${c}`));
        assert.match(allowed.stdout, new RegExp(`restored snapshot ${a}`));
        assert.ok(existsSync(path.join(to, 'private_key.pem')));

        // A snapshot named by id was the operator's choice: restored, with the finding as a warning.
        const byId = await r.cli(['restore', a, '--to', await emptyDir(r.d.dir.path, 'by-id')]);
        assert.equal(byId.code, 0, byId.stderr);
        assert.match(byId.stdout + byId.stderr, new RegExp(`rollback: .*${c}`));

        // The backup still saves, but chained to what this host last saw, so the gap stays visible.
        const next = await r.backup();
        assert.equal(next.code, ExitCode.CHECK_FAILED, next.stderr);
        assert.ok(next.id > c, `${next.id} sorts after the anchored ${c}`);
        assert.equal(next.manifest.previous?.id, c);
        assert.equal(next.manifest.sequence, 4, 'the sequence continues from the anchor, not from what is left');
        assert.ok(
          next.manifest.warnings.some((w) => w.startsWith('ROLLBACK:') && w.includes(c)),
          next.manifest.warnings.join(' | '),
        );
      } finally {
        await r.close();
      }
    });
  }

  test('V6: replacing the newest manifest (with an older one’s, with an edited copy) or putting an old copy of the repository back is a rollback too', async () => {
    const r = await backedUp('file', 3);
    try {
      const [a, b, c] = r.ids as [string, string, string];
      const original = await r.raw.read(manifestKey(c));
      const attacks: Array<[string, () => Promise<void>, RegExp]> = [
        [
          'the previous manifest copied over the newest',
          () => r.raw.write(manifestKey(c), Buffer.from(original.toString().replace(c, b))),
          new RegExp(`anchored snapshot ${c} .*no longer verifies`),
        ],
        [
          'the newest manifest edited (no signing key)',
          async () => {
            const edited = original.toString().replace(/"host": "[^"]*"/, '"host": "evil"');
            assert.notEqual(edited, original.toString());
            await r.raw.write(manifestKey(c), Buffer.from(edited));
          },
          new RegExp(`anchored snapshot ${c} .*no longer verifies`),
        ],
        [
          'the repository id removed',
          async () => {
            await r.raw.remove('repository.json');
          },
          /repository id vanished/,
        ],
      ];
      for (const [what, attack, finding] of attacks) {
        const before = await r.raw.snapshotBytes();
        await attack();
        const to = await emptyDir(r.d.dir.path, 'restored');
        const res = await r.cli(['restore', 'latest', '--to', to]);
        assert.equal(res.code, ExitCode.INTEGRITY, `${what}: ${res.stderr}`);
        assert.match(res.stderr, finding, what);
        assert.ok(!existsSync(to), `${what}: nothing restored`);
        for (const [k, v] of before) await r.raw.write(k, v); // undo for the next attack
      }
      // An old copy of the whole repository (taken after the first backup) put back in place.
      const sane = await r.cli(['restore', 'latest', '--to', await emptyDir(r.d.dir.path, 'sane')]);
      assert.equal(sane.code, 0, `the undone repository restores again: ${sane.stderr}`);
      for (const id of [b, c]) await deleteSnapshot(r.raw, id);
      const res = await r.cli(['restore', 'latest', '--to', await emptyDir(r.d.dir.path, 'old-copy')]);
      assert.equal(res.code, ExitCode.INTEGRITY, res.stderr);
      assert.match(res.stderr, new RegExp(`newest verified snapshot ${a}.* is older than ${c}`));
    } finally {
      await r.close();
    }
  });
});

describe('junk in the repository neither freezes the backup nor joins the chain', () => {
  test('V5: future-dated and unsigned junk manifests do not stop a backup; it chains to the newest manifest that verifies, and restore and the drill use that', async () => {
    const r = await backedUp('file', 1);
    try {
      const [real] = r.ids as [string];
      const junk = {
        // A few seconds after the real snapshot: sorts newest, but does not verify.
        [newSnapshotId(new Date(idTime(real) + 5000))]: '{"not":"a manifest"}',
        '20991231T235959Z-aaaaaa': '{"not":"a manifest"}',
        '99999999T999999Z-ffffff': '',
      };
      for (const [id, body] of Object.entries(junk)) await r.raw.write(manifestKey(id), Buffer.from(body));
      const t0 = Date.now();
      const b = await r.backup();
      const took = Date.now() - t0;
      assert.equal(b.code, 0, b.stderr);
      assert.ok(took < 60_000, `the backup finished (${took} ms)`);
      assert.equal(b.manifest.previous?.id, real, 'chained to the real snapshot, not to junk');
      assert.equal(b.manifest.sequence, 2);
      assert.ok(b.id < '20991231', `the new id ${b.id} is computed from the clock, not from the junk`);
      for (const id of Object.keys(junk))
        assert.ok(
          b.manifest.warnings.some((w) => w.startsWith('IGNORED:') && w.includes(id)),
          `${id} is reported: ${b.manifest.warnings.join(' | ')}`,
        );

      const to = await emptyDir(r.d.dir.path, 'restored');
      const res = await r.cli(['restore', 'latest', '--to', to]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`restored snapshot ${b.id}`));
      const drill = await r.cli(['--json', 'restore', 'latest', '--verify']);
      const integrity = (
        JSON.parse(drill.stdout) as { steps: Array<{ name: string; verdict: string; detail: string }> }
      ).steps.find((s) => s.name === 'integrity');
      assert.equal(integrity?.verdict, 'pass', drill.stdout);
      assert.match(integrity.detail, new RegExp(`links to ${real}`));
    } finally {
      await r.close();
    }
  });
});

describe('a broken chain link is a finding, not the end of the drill', () => {
  test('D16: with the middle snapshot deleted, the drill fails integrity for the broken link but still tests key, database and boot of the latest snapshot', async () => {
    const f = await drillSetup();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await f.backup()).id);
      await rm(path.join(f.repoRoot, 'snapshots', ids[1]!), { recursive: true });
      const { result } = await f.drill();
      const integrity = step(result, 'integrity');
      assert.equal(integrity.verdict, 'fail');
      assert.match(integrity.detail, new RegExp(`chain link broken: the previous snapshot ${ids[1]} is missing`));
      for (const name of ['key', 'database', 'boot'] as const)
        assert.equal(step(result, name).verdict, 'pass', `${name}: ${step(result, name).detail}`);
      assert.equal(result.snapshot_id, ids[2]);
      assertScratchGone(f.tempBase);
    } finally {
      await f.close();
    }
  });
});
