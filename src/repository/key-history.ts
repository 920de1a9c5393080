import type { GoodSnapshot, SnapshotEntry } from './repository.js';

/**
 * Every signing key ever backed up, from the manifests (each records its key's kid, RFC 7638
 * thumbprint, algorithm and size; never key material). A key is identified by its thumbprint: a
 * kid can be reused, a thumbprint cannot. Only manifests whose signature holds (or that no key
 * could check) count.
 */
export interface KeyHistoryEntry {
  kid: string | null;
  thumbprint: string;
  kty: string;
  alg: string | null;
  modulus_bits: number | null;
  first: { snapshot: string; created_at: string };
  last: { snapshot: string; created_at: string };
  snapshots: number;
  /** The key of the newest snapshot: the one production should be signing with. */
  current: boolean;
}

export function keyHistory(entries: readonly SnapshotEntry[]): KeyHistoryEntry[] {
  const good = entries.filter((e): e is GoodSnapshot => e.verified !== false).sort((a, b) => a.id.localeCompare(b.id));
  const byThumb = new Map<string, KeyHistoryEntry>();
  for (const e of good) {
    const k = e.manifest.key;
    const at = { snapshot: e.id, created_at: e.manifest.created_at };
    const h = byThumb.get(k.thumbprint);
    if (h) {
      h.last = at;
      h.snapshots++;
    } else {
      byThumb.set(k.thumbprint, {
        kid: k.kid,
        thumbprint: k.thumbprint,
        kty: k.kty,
        alg: k.alg,
        modulus_bits: k.modulus_bits,
        first: at,
        last: at,
        snapshots: 1,
        current: false,
      });
    }
  }
  const newest = good[good.length - 1];
  if (newest) byThumb.get(newest.manifest.key.thumbprint)!.current = true;
  return [...byThumb.values()].sort((a, b) => a.first.snapshot.localeCompare(b.first.snapshot));
}
