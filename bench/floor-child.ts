/**
 * The child of bench/floor.ts: `node dist/bench/floor-child.js FILE RECIPIENT DIR`. Pushes FILE
 * through storeArtifact into a FileStorage at DIR (age encryption, the ciphertext's SHA-256, the
 * write and its fsync: what every backup does with its database's bytes) and prints
 * {"ms": …}, the time of that alone, with this process's start-up and module loading left out.
 */
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { storeArtifact } from '../src/backup/store-artifact.js';
import { FileStorage } from '../src/repository/file-storage.js';

const [file, recipient, dir] = process.argv.slice(2);
if (!file || !recipient || !dir) {
  process.stderr.write('usage: floor-child.js FILE RECIPIENT DIR\n');
  process.exit(2);
}
const storage = new FileStorage(pathToFileURL(dir).href);
const started = performance.now();
// 1 MiB reads, as the backup's own streams move data.
await storeArtifact(storage, [recipient], 'floor/db.age', createReadStream(file, { highWaterMark: 1 << 20 }));
process.stdout.write(JSON.stringify({ ms: performance.now() - started }) + '\n');
