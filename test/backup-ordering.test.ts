// Snapshot ids order the chain: backups made within the same second still sort after each other
// and each links to the one before it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createSampleDeployment } from '../src/barycenter/sample-deployment.js';
import { initConfig } from '../src/cli/init.js';
import { loadConfig } from '../src/config/load.js';
import { runBackup } from '../src/backup/pipeline.js';
import { openStorage } from '../src/repository/open-storage.js';
import { Repository } from '../src/repository/repository.js';
import { loadVerifier } from '../src/crypto/signing.js';
import { createLogger } from '../src/log.js';
import { makeTempDir } from './support/services.js';

test('three backups stamped with the same instant form an ordered, linked chain', async () => {
  const dir = await makeTempDir('barysafe-order-');
  try {
    const dep = await createSampleDeployment(path.join(dir.path, 'bc'));
    const init = await initConfig({
      dir: path.join(dir.path, 'etc'),
      barycenterConfig: dep.configPath,
      workdir: dep.workdir,
      repository: `file://${path.join(dir.path, 'repo')}`,
    });
    const { config } = await loadConfig(init.configPath);
    const storage = openStorage(config.repository);
    const frozen = new Date('2026-11-28T09:00:00.000Z');
    const logger = createLogger({ level: 'warn', format: 'json' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await runBackup(config, { logger, storage, now: () => frozen })).id);
    assert.deepEqual([...ids].sort(), ids, 'ids sort in creation order');
    assert.equal(new Set(ids).size, 3);
    const repo = new Repository(storage, await loadVerifier(config.encryption.verify_key!));
    assert.equal(await repo.resolve('latest'), ids[2]);
    for (const entry of await repo.list()) {
      assert.notEqual(entry.verified, false, entry.id);
      if (entry.verified === false) continue;
      const link = await repo.chainLink(entry);
      assert.ok(link.ok, `${entry.id}: ${link.detail}`);
    }
  } finally {
    await dir.cleanup();
  }
});
