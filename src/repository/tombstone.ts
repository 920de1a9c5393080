/**
 * What `barysafe forget` removed, by whom and why (docs/FORMAT.md, "Tombstones"). A tombstone is
 * written, signed, before anything is deleted. It keeps the chain provable across the gap: each
 * removed snapshot's manifest digest, the link it held to its own predecessor and its sequence,
 * so a surviving manifest that names a pruned predecessor still links, through the tombstone, to
 * the exact bytes of the next surviving one. Rollback detection consults it too: a snapshot named
 * here was removed on purpose, not rolled back.
 */
import * as z from 'zod';

export const TOMBSTONE_FORMAT = 'barysafe.tombstone/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const removedSnapshotSchema = z.looseObject({
  id: z.string(),
  created_at: z.string().nullable(),
  /** SHA-256 of the removed manifest's stored bytes: what its successor's `previous.sha256` names. */
  manifest_sha256: hex64,
  /** The removed manifest's own link, so the chain can be followed past it. */
  previous: z.looseObject({ id: z.string(), sha256: hex64 }).nullable(),
  sequence: z.number().int().optional(),
  key_thumbprint: z.string().nullable(),
  /** Every object of the snapshot (artifacts and manifest). */
  objects: z.array(z.string()),
  /** Why the policy did not keep it. */
  reason: z.string(),
});
export type RemovedSnapshot = z.infer<typeof removedSnapshotSchema>;

export const tombstoneSchema = z.looseObject({
  format: z.literal(TOMBSTONE_FORMAT),
  id: z.string(),
  created_at: z.string(),
  /** Who removed it: the OS user, the host and the tool. */
  by: z.looseObject({
    user: z.string(),
    host: z.string(),
    tool: z.looseObject({ name: z.literal('barysafe'), version: z.string() }),
  }),
  /** The retention rule, as text ("keep 14 daily, 8 weekly …"). */
  reason: z.string(),
  policy: z.record(z.string(), z.unknown()),
  removed: z.array(removedSnapshotSchema),
  /** Objects under snapshots/ that belonged to no snapshot (an interrupted backup or forget) and were removed. */
  orphans: z.array(z.string()),
});
export type Tombstone = z.infer<typeof tombstoneSchema>;
