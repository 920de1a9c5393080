import * as z from 'zod';
import { signatureSchema } from './signed-document.js';
import { SNAPSHOT_ID, snapshotPrefix } from './layout.js';

/** On-disk format of a snapshot manifest (docs/FORMAT.md). Holds no secret and no hash of low-entropy plaintext. */
export const MANIFEST_FORMAT = 'barysafe.snapshot/v1';

export const ARTIFACT_KINDS = ['key', 'jwks', 'database', 'config', 'env', 'extra'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

// Schemas are loose (unknown members pass through): a manifest written by a newer barysafe still
// reads, and the signature covers every member anyway.
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.number().int().nonnegative();

export const artifactSchema = z.looseObject({
  name: z.string().min(1),
  kind: z.enum(ARTIFACT_KINDS),
  /** Storage key of the age-encrypted object. */
  object: z.string().min(1),
  /** Where it came from: a file path, or a password-free database URL. */
  source: z.string(),
  /** Original file mode, e.g. "0600" (files only). */
  mode: z.string().optional(),
  /** Ciphertext size and SHA-256 (hex): checkable without the identity. */
  size: count,
  sha256: hex64,
  plaintext_size: count,
});
export type ArtifactRecord = z.infer<typeof artifactSchema>;

export const keyRecordSchema = z.looseObject({
  kid: z.string().nullable(),
  kty: z.string(),
  alg: z.string().nullable(),
  thumbprint: z.string(),
  modulus_bits: z.number().int().nullable(),
  jwks: z.looseObject({
    kids: z.array(z.string().nullable()),
    thumbprints: z.array(z.string()),
    publishes_key_exactly: z.boolean(),
    problems: z.array(z.string()),
  }),
});
export type KeyRecord = z.infer<typeof keyRecordSchema>;

/** Which known Barycenter build wrote a database's migration rows (barycenter/builds.ts schemaBuild). */
export const schemaBuildSchema = z.looseObject({
  // A string, not the enum of today's builds: a newer barysafe may name builds this one does not know.
  build: z.string().nullable(),
  openable_by: z.array(z.string()),
  unknown_migrations: z.array(z.string()),
});

/** A Barycenter build named by content (barycenter/identity.ts): a binary's SHA-256 or an image. */
export const buildIdentitySchema = z.union([
  z.looseObject({ kind: z.literal('binary'), path: z.string(), sha256: hex64, source: z.string() }),
  z.looseObject({
    kind: z.literal('image'),
    ref: z.string(),
    id: z.string().optional(),
    digest: z.string().optional(),
    source: z.string(),
  }),
]);

export const databaseRecordSchema = z.looseObject({
  engine: z.enum(['sqlite', 'postgres']),
  source: z.string(),
  migrations: z.array(z.string()),
  /** Absent in older manifests. */
  schema: schemaBuildSchema.optional(),
  row_counts: z.record(z.string(), count),
  integrity_check: z.string().optional(),
  server_version: z.string().optional(),
  dump_format: z.enum(['sqlite3', 'pg_dump-custom']).optional(),
  dump_tool_version: z.string().optional(),
  /** pg_dump's compression (backup.pg_compress): "default", "none", "gzip:6", "lz4", "zstd:3". */
  dump_compression: z.string().optional(),
});
export type DatabaseRecord = z.infer<typeof databaseRecordSchema>;

export const manifestSchema = z.looseObject({
  format: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(SNAPSHOT_ID),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime(),
  host: z.string(),
  tool: z.looseObject({ name: z.literal('barysafe'), version: z.string() }),
  previous: z.object({ id: z.string(), sha256: hex64 }).nullable(),
  /** Monotonic across the chain: the previous verified manifest's + 1 (absent before it existed). */
  sequence: count.optional(),
  /** The repository's random id (repository.json) when the snapshot was made. */
  repository_id: z.string().optional(),
  recipients: z.array(z.string()),
  barycenter: z.looseObject({
    config_path: z.string(),
    config_present: z.boolean(),
    workdir: z.string(),
    env_file: z.string().optional(),
    issuer: z.string(),
    public_base_url: z.string().optional(),
    port: z.number().int(),
    admin_port: z.number().int(),
    private_key_path: z.string(),
    jwks_path: z.string(),
    /** Which build produced this snapshot: the production binary's SHA-256 or image (absent in older manifests). */
    build: z.looseObject({ identity: buildIdentitySchema.nullable(), reason: z.string().optional() }).optional(),
    /** Where each setting that is not a default came from (the file, unit Environment=, container env, …). */
    setting_sources: z.record(z.string(), z.string()).optional(),
    /** The deployment's own definition the backup read, and the names of the variables it sets (values: service.env). */
    service: z
      .looseObject({
        kind: z.enum(['systemd', 'docker', 'kubernetes']),
        source: z.string(),
        variables: z.array(z.string()),
        unknown: z.array(z.string()),
      })
      .optional(),
  }),
  key: keyRecordSchema,
  database: databaseRecordSchema,
  artifacts: z.array(artifactSchema),
  warnings: z.array(z.string()),
  signature: signatureSchema.optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

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

/**
 * Artifact names as barysafe writes them: one file name, or `extra/<file name>` — never a path
 * that climbs out of (or is absolute inside) the directory a restore writes into.
 */
const ARTIFACT_NAME = /^(extra\/)?(?!\.{1,2}$)(?!\.barysafe)[A-Za-z0-9._-]{1,200}$/;

/**
 * What is wrong with a manifest's artifact list, as a restore would follow it: unsafe names,
 * duplicates, objects outside the snapshot's own folder. Empty when nothing is.
 */
export function artifactProblems(m: Pick<Manifest, 'id' | 'artifacts'>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const folder = snapshotPrefix(m.id);
  for (const a of m.artifacts) {
    const name = typeof a?.name === 'string' ? a.name : '';
    if (!ARTIFACT_NAME.test(name)) problems.push(`artifact name ${JSON.stringify(a?.name)} is not a plain file name`);
    else if (seen.has(name)) problems.push(`artifact name ${name} appears twice`);
    seen.add(name);
    const object = typeof a?.object === 'string' ? a.object : '';
    const rest = object.startsWith(folder) ? object.slice(folder.length) : undefined;
    if (rest === undefined || !rest || rest.split('/').some((p) => p === '' || p === '.' || p === '..'))
      problems.push(`artifact ${JSON.stringify(name)} points at ${JSON.stringify(a?.object)}, outside ${folder}`);
  }
  return problems;
}

export { SNAPSHOT_ID, manifestKey, snapshotPrefix } from './layout.js';
