import type { Command } from 'commander';
import { publicUrlOf } from '../barycenter/public-url.js';
import { fetchServedJwks, type ServedJwks } from '../barycenter/served-jwks.js';
import { ExitCode } from '../errors.js';
import { keyHistory, type KeyHistoryEntry } from '../repository/key-history.js';
import { Repository, type GoodSnapshot } from '../repository/repository.js';
import { action, configFor, globals, printJson, storageFor, verifierFor } from './common.js';

interface KeyRow extends KeyHistoryEntry {
  /** With --live: production serves it now (true/false), or null when production could not be asked. */
  served: boolean | null;
  backed_up: true;
}

interface UnbackedKey {
  kid: string | null;
  thumbprint: string;
  served: true;
  backed_up: false;
}

export function registerKeys(program: Command): void {
  program
    .command('keys')
    .description(
      'every signing key ever backed up: kid, thumbprint, algorithm and size, first and last snapshot holding it; --live: served now?',
    )
    .option('--live', "compare with the JWKS production serves now (barycenter.public_url, else the snapshot's)")
    .action(
      action(async (flags: { live?: boolean }, cmd: Command) => {
        const g = globals(cmd);
        const { config } = await configFor(g);
        const storage = storageFor(config);
        try {
          const repo = new Repository(storage, await verifierFor(config));
          const entries = await repo.list();
          const history = keyHistory(entries);
          const invalid = entries.filter((e) => e.verified === false).map((e) => e.id);
          let served: ServedJwks | undefined;
          if (flags.live) {
            const newest = entries.filter((e): e is GoodSnapshot => e.verified !== false).pop();
            const base = publicUrlOf(config.barycenter.public_url, newest?.manifest.barycenter.public_base_url);
            served = base
              ? await fetchServedJwks(base)
              : { url: '(unknown)', error: 'no public URL: set barycenter.public_url' };
          }
          const servedTps = new Set(served?.keys?.map((k) => k.thumbprint));
          const rows: KeyRow[] = history.map((h) => ({
            ...h,
            served: !flags.live ? null : served?.keys ? servedTps.has(h.thumbprint) : null,
            backed_up: true,
          }));
          const unbacked: UnbackedKey[] = (served?.keys ?? [])
            .filter((k) => !history.some((h) => h.thumbprint === k.thumbprint))
            .map((k) => ({ kid: k.kid, thumbprint: k.thumbprint, served: true, backed_up: false }));
          const inconclusive = !!flags.live && !served?.keys;
          // Production signing with (or publishing) a key no snapshot holds: losing the host loses it.
          const code = unbacked.length ? ExitCode.CHECK_FAILED : inconclusive ? ExitCode.INCONCLUSIVE : ExitCode.OK;
          if (g.json) {
            printJson({
              ok: code === ExitCode.OK,
              repository: storage.displayUrl,
              keys: rows,
              ...(flags.live
                ? { live: { url: served!.url, error: served!.error ?? null, served_not_backed_up: unbacked } }
                : {}),
              invalid_manifests: invalid,
            });
          } else {
            process.stdout.write(keysText(rows, unbacked, served, invalid, storage.displayUrl));
          }
          return code;
        } finally {
          await storage.close?.();
        }
      }),
    );
}

function keysText(
  rows: KeyRow[],
  unbacked: UnbackedKey[],
  served: ServedJwks | undefined,
  invalid: string[],
  repo: string,
): string {
  if (rows.length === 0 && unbacked.length === 0) return `no snapshot in ${repo} holds a key\n`;
  const table = [['KID', 'THUMBPRINT', 'ALG', 'SIZE', 'FIRST SNAPSHOT', 'LAST SNAPSHOT', 'SNAPSHOTS', 'SERVED NOW']];
  for (const r of rows)
    table.push([
      r.kid ?? '(none)',
      r.thumbprint,
      r.alg ?? r.kty,
      r.modulus_bits ? `${r.kty}-${r.modulus_bits}` : r.kty,
      r.first.snapshot,
      r.last.snapshot + (r.current ? ' (newest)' : ''),
      String(r.snapshots),
      r.served === null ? (served ? 'unknown' : '-') : r.served ? 'yes' : 'no',
    ]);
  for (const u of unbacked) table.push([u.kid ?? '(none)', u.thumbprint, '?', '?', 'NEVER BACKED UP', '', '0', 'yes']);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const out = table.map((row) =>
    row
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  if (served?.error) out.push(`production's JWKS at ${served.url} ${served.error}: served now is unknown`);
  else if (served) out.push(`production's JWKS: ${served.url}`);
  if (unbacked.length)
    out.push(
      `WARNING: production serves ${unbacked.length} key(s) no snapshot holds (a rotation that was never backed up): run barysafe backup`,
    );
  if (invalid.length) out.push(`not counted (manifest signature does not verify): ${invalid.join(', ')}`);
  return out.join('\n') + '\n';
}
