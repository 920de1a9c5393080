import { BarysafeError, ExitCode } from '../../errors.js';
import { manifestKey } from '../../repository/layout.js';
import { parseDocument } from '../../repository/signed-document.js';
import type { GoodSnapshot, Repository } from '../../repository/repository.js';
import * as z from 'zod';

/**
 * A manifest that carries a signed `sequence` must carry its predecessor's plus one: a
 * rolled-back or replayed manifest shows as a jump. Manifests without one (written before
 * sequences existed) are not checked. The predecessor is the one the manifest names, so a pruned
 * predecessor is looked up in the tombstone that removed it.
 */
export async function sequenceProblem(
  repo: Repository,
  entry: GoodSnapshot,
): Promise<{ ok: boolean; detail: string } | undefined> {
  const seq = (entry.manifest as { sequence?: unknown }).sequence;
  const prev = entry.manifest.previous;
  if (typeof seq !== 'number' || !prev) return undefined;
  let prevSeq: unknown;
  try {
    const bytes = await repo.readSmall(manifestKey(prev.id), `manifest of snapshot ${prev.id}`);
    prevSeq = parseDocument(
      bytes,
      `manifest of snapshot ${prev.id}`,
      z.looseObject({ sequence: z.unknown() }),
    ).sequence;
  } catch (e) {
    if (!(e instanceof BarysafeError) || e.exitCode !== ExitCode.INTEGRITY) throw e;
    prevSeq = (await repo.tombstoned(prev.id, prev.sha256))?.sequence;
  }
  if (typeof prevSeq !== 'number') return undefined;
  return seq === prevSeq + 1
    ? { ok: true, detail: `sequence ${seq} follows ${prevSeq} of ${prev.id}` }
    : { ok: false, detail: `sequence ${seq} does not follow ${prevSeq} of the previous snapshot ${prev.id}` };
}
