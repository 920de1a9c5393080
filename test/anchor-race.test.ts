// A backup on this host that commits while a restore, drill or check is finding "latest" is not a
// rollback. The agent runs its backup and its drill at the same time; the drill listed the
// repository, the backup committed a newer snapshot and moved the anchor, and the drill then read
// that anchor and saw its own newest snapshot as older than it: a false "rolled back" (seen in the
// agent's end-to-end test). The anchor is now read before the listing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnchorStore } from '../src/repository/anchor.js';
import { manifestKey, SNAPSHOTS_PREFIX } from '../src/repository/layout.js';
import { Repository } from '../src/repository/repository.js';
import type { Storage } from '../src/repository/storage.js';
import { loadVerifier } from '../src/crypto/signing.js';
import { verifyKeyFile } from '../src/config/schema.js';
import { openSnapshot } from '../src/restore/open-snapshot.js';
import { repoFixture } from './support/repo-fixture.js';

test('a backup committed between the listing of "latest" and the anchor check is no rollback; a real one still is', async () => {
  const f = await repoFixture('file', undefined);
  try {
    const first = await f.backup();
    // The repository as a restore sees it: its first listing of the snapshots ends just before a
    // backup on the same host commits the next snapshot and moves the anchor to it.
    let raced: string | undefined;
    const racing = new Proxy(f.storage, {
      get(target, key) {
        if (key === 'list')
          return async function* (prefix: string) {
            const seen = [];
            for await (const o of target.list(prefix)) seen.push(o);
            if (!raced && prefix.startsWith(SNAPSHOTS_PREFIX)) raced = (await f.backup()).id;
            yield* seen;
          };
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Storage;
    const verifier = await loadVerifier(verifyKeyFile(f.config)!);
    const anchors = new AnchorStore(f.stateDir);
    const opened = await openSnapshot(new Repository(racing, verifier), 'latest', { anchors });
    assert.ok(raced && raced > first.id, 'the second backup ran during the listing');
    assert.equal(opened.entry.id, first.id, 'the listing did not show the newer snapshot');
    assert.deepEqual(
      opened.warnings.filter((w) => /rollback/.test(w)),
      [],
    );

    // The newest snapshot removed behind the host's back is still refused.
    await f.raw.remove(manifestKey(raced));
    await assert.rejects(openSnapshot(new Repository(f.storage, verifier), 'latest', { anchors }), (e: Error) =>
      /older than|is gone/.test(e.message),
    );
  } finally {
    await f.close();
  }
});
