// Snapshots written with barysafe's own writer functions (storeArtifact, signDocument,
// putDocument) instead of full backups: a year of daily snapshots in seconds. Each is a real,
// chained, signed manifest with two small age-encrypted artifacts, so verify's inventory (sizes,
// age headers, chain, sequence) judges them like any other.
import { Readable } from 'node:stream';
import { storeArtifact } from '../../src/backup/store-artifact.js';
import type { BarysafeConfig } from '../../src/config/schema.js';
import type { Signer } from '../../src/crypto/signing.js';
import {
  MANIFEST_FORMAT,
  manifestKey,
  newSnapshotId,
  snapshotPrefix,
  type Manifest,
} from '../../src/repository/manifest.js';
import { Repository } from '../../src/repository/repository.js';
import { signDocument } from '../../src/repository/signed-document.js';
import type { Storage } from '../../src/repository/storage.js';

export interface SyntheticKey {
  kid: string;
  thumbprint: string;
}

export interface Written {
  id: string;
  sha256: string;
  at: Date;
  sequence: number;
}

/**
 * Writes one snapshot per entry of `times` (oldest first), chained after `after` (the newest
 * snapshot already there, if any). `keyAt` says which signing key each one records. `clock`, when
 * given, is set to each snapshot's time before its objects are put (Object Lock retention dates).
 */
export async function writeSnapshots(
  storage: Storage,
  config: BarysafeConfig,
  signer: Signer,
  times: Date[],
  keyAt: (at: Date, i: number) => SyntheticKey,
  o: { after?: Written; clock?: { now: Date } } = {},
): Promise<Written[]> {
  const repo = new Repository(storage, signer);
  const out: Written[] = [];
  let previous = o.after;
  for (const [i, at] of times.entries()) {
    if (o.clock) o.clock.now = at;
    const id = newSnapshotId(at);
    const key = keyAt(at, i);
    const artifacts: Manifest['artifacts'] = [];
    for (const [name, kind] of [
      ['private_key.pem', 'key'],
      ['jwks.json', 'jwks'],
    ] as const) {
      const object = `${snapshotPrefix(id)}${name}.age`;
      const body = Buffer.from(JSON.stringify({ synthetic: name, kid: key.kid, at: at.toISOString() }));
      const stored = await storeArtifact(storage, config.encryption.recipients, object, Readable.from([body]));
      artifacts.push({ name, kind, object, source: `/synthetic/${name}`, mode: '0600', ...stored });
    }
    const sequence = (previous?.sequence ?? 0) + 1;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      id,
      created_at: at.toISOString(),
      started_at: at.toISOString(),
      host: 'synthetic',
      tool: { name: 'barysafe', version: '0.0.0-synthetic' },
      previous: previous ? { id: previous.id, sha256: previous.sha256 } : null,
      sequence,
      recipients: [...config.encryption.recipients],
      barycenter: {
        config_path: config.barycenter.config,
        config_present: true,
        workdir: config.barycenter.workdir,
        issuer: 'http://localhost',
        port: 8080,
        admin_port: 8081,
        private_key_path: '/synthetic/private_key.pem',
        jwks_path: '/synthetic/jwks.json',
      },
      key: {
        kid: key.kid,
        kty: 'RSA',
        alg: 'RS256',
        thumbprint: key.thumbprint,
        modulus_bits: 2048,
        jwks: { kids: [key.kid], thumbprints: [key.thumbprint], publishes_key_exactly: true, problems: [] },
      },
      database: { engine: 'sqlite', source: '/synthetic/barycenter.db', migrations: [], row_counts: {} },
      artifacts,
      warnings: [],
    };
    const { sha256 } = await repo.putDocument(manifestKey(id), signDocument(manifest, signer));
    previous = { id, sha256, at, sequence };
    out.push(previous);
  }
  return out;
}

/** One Date per day at hh:00 UTC, from `first` (YYYY-MM-DD) for `days` days. */
export function dailyAt(first: string, days: number, hour = 3): Date[] {
  const t0 = Date.parse(`${first}T00:00:00.000Z`);
  return Array.from({ length: days }, (_, d) => new Date(t0 + d * 86_400_000 + hour * 3_600_000));
}
