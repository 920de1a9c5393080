import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { parse as parseToml } from 'smol-toml';
import { errorText } from '../../errors.js';
import type { ArtifactRecord } from '../../repository/manifest.js';
import { manifestKey } from '../../repository/manifest.js';
import { sha256Hex } from '../../repository/signed-document.js';
import { openSnapshot } from '../../restore/open-snapshot.js';
import { stateDir } from '../../config/schema.js';
import { phaseTimer } from '../phase-timer.js';
import { AnchorStore } from '../../repository/anchor.js';
import { newestVerified } from '../../repository/chain.js';
import { RESTORED_MODES, extractArtifacts, identitiesFor, type Placement } from '../../restore/extract.js';
import { scratchLayout } from '../scratch/scratch-env.js';
import { SERVICE_ENV } from '../../repository/layout.js';
import type { DrillContext, RestoredFiles } from '../context.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

/**
 * Step 1. The manifest's signature and chain link, then every artifact: ciphertext size and
 * SHA-256 against the signed manifest, decryption into the scratch directory, and a parse of each
 * plaintext (a decrypting but garbled key file must not reach the boot step).
 */
export async function integrityStep(ctx: DrillContext): Promise<StepOutcome> {
  const identities = await identitiesFor(ctx.identityFile ?? ctx.config.encryption.identity_file);
  // "latest" is the newest snapshot whose manifest verifies (junk and future-dated ones are passed over).
  const latest = ctx.ref === 'latest';
  ctx.snapshotId = latest
    ? ((await newestVerified(ctx.repo)).entry?.id ?? (await ctx.repo.resolve('latest')))
    : await ctx.repo.resolve(ctx.ref);
  ctx.snapshotSha256 = await ctx.repo
    .readSmall(manifestKey(ctx.snapshotId), `manifest of snapshot ${ctx.snapshotId}`)
    .then(sha256Hex, () => undefined);
  // A repository rolled back below this host's anchor fails here (exit 13) unless --allow-rollback.
  const { entry, chain, warnings } = await openSnapshot(ctx.repo, ctx.snapshotId, {
    anchors: new AnchorStore(stateDir(ctx.config)),
    allowRollback: ctx.allowRollback,
    latest,
  });
  ctx.entry = entry;
  const m = entry.manifest;

  const problems: string[] = [];
  for (const kind of ['key', 'jwks', 'database'] as const) {
    if (!m.artifacts.some((a) => a.kind === kind)) problems.push(`the snapshot has no ${kind} artifact`);
  }
  if (problems.length) return fail(problems.join('; '), { chain: chain.detail });
  // A broken chain link is a finding, but the snapshot's restorability is still proven: the
  // artifacts are restored and the later steps run.
  const chainProblem = chain.ok ? undefined : `chain link broken: ${chain.detail}`;

  const configArtifact = m.artifacts.find((a) => a.kind === 'config');
  const layout = scratchLayout(ctx.scratchDir, configArtifact ? safeName(configArtifact.name) : 'config.toml');
  const files: Record<string, string> = {};
  let database: RestoredFiles['database'] | undefined;
  let envPath: string | undefined;
  let serviceEnvPath: string | undefined;
  const extras: Record<string, string> = {};
  const phases = phaseTimer(ctx.onPhase);
  phases.start('integrity: extract');
  await extractArtifacts(ctx.repo, m.artifacts, {
    identities,
    place: (a) => destinationOf(a, layout, m.database.engine),
    onProgress: (a, bytes) =>
      ctx.onPhase?.({ phase: 'integrity: extract', state: 'bytes', artifact: a.name, bytes, total: a.size }),
    onPlaced: async ({ artifact: a, dest }) => {
      const problem = await plaintextProblem(a, dest);
      if (problem) problems.push(problem);
      files[path.relative(ctx.scratchDir, dest)] = '0' + ((await stat(dest)).mode & 0o777).toString(8);
      if (a.kind === 'database')
        database =
          m.database.engine === 'postgres' ? { engine: 'postgres', dumpPath: dest } : { engine: 'sqlite', path: dest };
      if (a.kind === 'env' && a.name === SERVICE_ENV) serviceEnvPath = dest;
      else if (a.kind === 'env') envPath = dest;
      if (a.kind === 'extra') extras[a.source] = dest;
    },
  });
  phases.end('integrity: extract', `${m.artifacts.length} artifacts`);
  const evidence = {
    snapshot_id: entry.id,
    manifest_sha256: entry.sha256,
    signed_by: m.signature?.key_id ?? null,
    chain: chain.detail,
    artifacts: m.artifacts.map((a) => ({ name: a.name, kind: a.kind, size: a.size, sha256: a.sha256 })),
    restored_modes: files,
    ...(warnings.length ? { warnings } : {}),
  };
  if (problems.length) return fail(problems.join('; '), evidence);
  ctx.restored = {
    layout,
    configRestored: !!configArtifact,
    ...(envPath ? { envPath } : {}),
    ...(serviceEnvPath ? { serviceEnvPath } : {}),
    extras,
    database: database!,
  };
  if (chainProblem)
    return fail(`${chainProblem} (the artifacts verify and were restored; the later steps still test them)`, evidence);
  return pass(
    `signature by ${m.signature?.key_id ?? '?'} verified, ${chain.detail}; ${m.artifacts.length} artifacts match their SHA-256, decrypt and parse`,
    evidence,
  );
}

/** Where each artifact goes in the scratch layout, with the mode restore gives it. */
function destinationOf(
  a: ArtifactRecord,
  layout: ReturnType<typeof scratchLayout>,
  engine: 'sqlite' | 'postgres',
): Placement {
  const mode = RESTORED_MODES[a.kind];
  switch (a.kind) {
    case 'key':
      return { dest: layout.privateKeyPath, mode };
    case 'jwks':
      return { dest: layout.jwksPath, mode };
    case 'config':
      return { dest: layout.configPath, mode };
    case 'env':
      // service.env: the deployment's own environment (unit, container, pod); the other, env_file.
      return { dest: path.join(layout.dir, a.name === SERVICE_ENV ? SERVICE_ENV : 'barycenter.env'), mode };
    case 'database':
      return { dest: path.join(layout.dir, engine === 'postgres' ? 'barycenter.pgdump' : 'barycenter.db'), mode };
    default:
      return { dest: path.join(layout.dir, 'extra', safeName(a.name)), mode };
  }
}

/** A manifest is signed, but names still must not escape the scratch directory. */
function safeName(name: string): string {
  const base = path.basename(name).replace(/[^A-Za-z0-9._-]/g, '_');
  return base && base !== '.' && base !== '..' ? base : 'artifact';
}

async function plaintextProblem(a: ArtifactRecord, file: string): Promise<string | undefined> {
  const head = async (n: number) => (await readFile(file)).subarray(0, n);
  try {
    switch (a.kind) {
      case 'key':
      case 'jwks':
        JSON.parse(await readFile(file, 'utf8'));
        return;
      case 'config':
        if (/\.toml$/i.test(file)) parseToml(await readFile(file, 'utf8'));
        return;
      case 'env':
        parseDotenv(await readFile(file));
        return;
      case 'database':
        if (file.endsWith('.pgdump'))
          return (await head(5)).toString('latin1') === 'PGDMP'
            ? undefined
            : `${a.name} decrypts but is not a pg_dump custom-format archive`;
        return (await head(16)).toString('latin1') === 'SQLite format 3\0'
          ? undefined
          : `${a.name} decrypts but is not an SQLite database`;
      default:
        return;
    }
  } catch (e) {
    return `${a.name} decrypts but does not parse (${errorText(e).split('\n')[0]})`;
  }
}
