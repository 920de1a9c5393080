import type { Signature } from './signed-document.js';

/** On-disk format of a snapshot manifest (docs/FORMAT.md). Holds no secret and no hash of low-entropy plaintext. */
export const MANIFEST_FORMAT = 'barysafe.snapshot/v1';

export type ArtifactKind = 'key' | 'jwks' | 'database' | 'config' | 'env' | 'extra';

export interface ArtifactRecord {
  name: string;
  kind: ArtifactKind;
  /** Storage key of the age-encrypted object. */
  object: string;
  /** Where it came from: a file path, or a password-free database URL. */
  source: string;
  /** Original file mode, e.g. "0600" (files only). */
  mode?: string;
  /** Ciphertext size and SHA-256 (hex): checkable without the identity. */
  size: number;
  sha256: string;
  plaintext_size: number;
}

export interface KeyRecord {
  kid: string | null;
  kty: string;
  alg: string | null;
  thumbprint: string;
  modulus_bits: number | null;
  jwks: { kids: Array<string | null>; thumbprints: string[]; publishes_key_exactly: boolean; problems: string[] };
}

export interface DatabaseRecord {
  engine: 'sqlite' | 'postgres';
  source: string;
  migrations: string[];
  row_counts: Record<string, number>;
  integrity_check?: string;
  server_version?: string;
  dump_format?: 'sqlite3' | 'pg_dump-custom';
  dump_tool_version?: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  id: string;
  created_at: string;
  started_at: string;
  host: string;
  tool: { name: 'barysafe'; version: string };
  previous: { id: string; sha256: string } | null;
  recipients: string[];
  barycenter: {
    config_path: string;
    config_present: boolean;
    workdir: string;
    env_file?: string;
    issuer: string;
    public_base_url?: string;
    port: number;
    admin_port: number;
    private_key_path: string;
    jwks_path: string;
  };
  key: KeyRecord;
  database: DatabaseRecord;
  artifacts: ArtifactRecord[];
  warnings: string[];
  signature?: Signature;
}

/** Snapshot ids sort by time: 20261128T081500Z-3fa9c1. */
export function newSnapshotId(now = new Date(), rand = Math.random): string {
  const ts = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const suffix = Math.floor(rand() * 0xffffff)
    .toString(16)
    .padStart(6, '0');
  return `${ts}-${suffix}`;
}

export { SNAPSHOT_ID, manifestKey, snapshotPrefix } from './layout.js';
