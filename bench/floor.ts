import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMeasured } from './measure.js';
import { median } from './report.js';

const CHILD = fileURLToPath(new URL('./floor-child.js', import.meta.url));

/**
 * The floor of a SQLite backup on this machine: the least any barysafe backup of `file` must
 * spend even if the consistent copy and the integrity check cost nothing: Node's own start-up
 * (`node -e 0`) plus the file's bytes through the encryption path (bench/floor-child.ts) in a
 * process of its own. A target below this floor cannot be met by overlapping the rest better;
 * only a faster cipher, hash or runtime start would move it.
 */
export interface BackupFloor {
  /** `node -e 0`, median of the runs. */
  nodeStartMs: number;
  /** storeArtifact of the file into a FileStorage, median of the runs. */
  encryptPathMs: number;
  /** nodeStartMs + encryptPathMs. */
  floorMs: number;
}

export async function measureBackupFloor(
  file: string,
  recipient: string,
  workDir: string,
  runs: number,
): Promise<BackupFloor> {
  const starts: number[] = [];
  const paths: number[] = [];
  for (let i = 0; i < runs; i++) {
    starts.push((await runMeasured(process.execPath, ['-e', '0'])).wallMs);
    const dir = path.join(workDir, `floor-${i}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      const r = await runMeasured(process.execPath, [CHILD, file, recipient, dir]);
      if (r.code !== 0)
        throw new Error(`the floor's encryption failed (exit ${r.code ?? r.signal}): ${r.stderr.slice(-1000)}`);
      paths.push((JSON.parse(r.stdout) as { ms: number }).ms);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const nodeStartMs = median(starts);
  const encryptPathMs = median(paths);
  return { nodeStartMs, encryptPathMs, floorMs: nodeStartMs + encryptPathMs };
}
