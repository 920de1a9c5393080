import { describeIdentity } from '../barycenter/identity.js';
import { readFile, stat } from 'node:fs/promises';
import { parseDuration } from '../units.js';
import { stateDir, verifyKeyFile } from '../config/schema.js';
import { loadVerifier } from '../crypto/signing.js';
import { redactText, redactUrl } from '../redact.js';
import { AnchorStore } from '../repository/anchor.js';
import { compareWithAnchor, newestVerified, readAnchor } from '../repository/chain.js';
import { openStorage } from '../repository/open-storage.js';
import { Repository, type GoodSnapshot } from '../repository/repository.js';
import { parsePrivateJwk } from '../barycenter/jwk.js';
import { schemaProblem } from '../barycenter/schema.js';
import { errorText } from '../errors.js';
import type { ArtifactKind } from '../repository/manifest.js';
import { healthOf } from '../repository/verify-record.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from './types.js';
import { readProtection, readRepository, type RepositoryFacts } from './evidence/repository.js';
import { unreadable } from './evidence/combine.js';
import { keyHistory } from '../repository/key-history.js';

/**
 * Backup freshness from the repository itself, not from logs: only a complete snapshot (one with a
 * manifest) whose signature verifies counts. age gives no sender authentication, so an unverified
 * manifest proves nothing about what it holds.
 */
function ageText(ms: number): string {
  const h = ms / 3_600_000;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

function repoEvidence(repo: RepositoryFacts): Evidence {
  const bad = repo.snapshots.filter((s) => s.verified === false).length;
  return {
    source: `repository ${repo.displayUrl}`,
    observed: {
      snapshots: repo.snapshots.length,
      failed_verification: bad,
      verify_key: repo.verifierKeyId ?? (repo.verifierError ? `unusable: ${repo.verifierError}` : 'none configured'),
    },
  };
}

/** The newest verified snapshot holding an artifact of one of `kinds`, and the evidence of the search. */
async function freshness(
  ctx: CheckContext,
  kinds: ArtifactKind[],
  what: string,
): Promise<CheckOutcome & { snapshot?: GoodSnapshot }> {
  const access = await readRepository(ctx);
  if (!access.ok)
    return {
      status: 'error',
      summary: `cannot read the ${access.source}: ${access.reason}`,
      evidence: [{ source: access.source ?? 'repository', note: access.reason }],
    };
  const repo = access.value;
  const rpoText = ctx.config.checks.rpo;
  const rpo = parseDuration(rpoText);
  const evidence: Evidence[] = [repoEvidence(repo)];
  for (const s of repo.snapshots) {
    if (s.verified !== false) continue;
    evidence.push({
      source: `manifest of snapshot ${s.id}`,
      observed: 'signature does not verify',
      note: `not counted: ${s.error}`,
    });
  }
  const holding = repo.snapshots.filter(
    (s): s is GoodSnapshot => s.verified !== false && s.manifest.artifacts.some((a) => kinds.includes(a.kind)),
  );
  // What `barysafe verify` found last: a snapshot with a missing, truncated or altered object
  // holds nothing restorable, whatever its manifest says.
  const damaged = new Set<string>();
  for (const s of holding) {
    const h = healthOf(s, repo.verifications);
    if (h.state !== 'damaged') continue;
    damaged.add(s.id);
    evidence.push({
      source: `verify record ${h.record ?? ''}`.trim(),
      observed: { snapshot: s.id, state: 'damaged', problems: h.problems ?? [] },
      note: 'not counted: the latest verification found it damaged',
    });
  }
  const counted = holding.filter((s) => !damaged.has(s.id));
  const newest = counted[counted.length - 1];
  if (!newest) {
    const qualifier = damaged.size ? 'undamaged ' : repo.snapshots.some((s) => s.verified === false) ? 'verified ' : '';
    return {
      status: 'fail',
      summary: `no ${qualifier}snapshot in ${repo.displayUrl} holds the ${what}`,
      evidence,
    };
  }
  const age = ctx.now.getTime() - Date.parse(newest.manifest.created_at);
  const health = healthOf(newest, repo.verifications);
  evidence.push({
    source: `manifest of snapshot ${newest.id}`,
    observed: {
      created_at: newest.manifest.created_at,
      age: ageText(age),
      artifacts: newest.manifest.artifacts.filter((a) => kinds.includes(a.kind)).map((a) => a.name),
      verification: health.state,
      ...(health.data_verified_at ? { data_verified_at: health.data_verified_at } : {}),
      ...(health.last_verified_at ? { last_verified_at: health.last_verified_at } : {}),
    },
    expected: `younger than checks.rpo = ${rpoText}`,
  });
  const proven =
    health.state === 'data verified'
      ? `data verified ${health.data_verified_at}`
      : 'signature verified; contents not yet verified by `barysafe verify --read-data`';
  if (!(age <= rpo))
    return {
      status: 'fail',
      summary: `the newest snapshot with the ${what} is ${ageText(age)} old, older than the RPO ${rpoText}`,
      evidence,
      snapshot: newest,
    };
  if (newest.verified === null) {
    evidence.push({
      source: 'encryption.verify_key / encryption.signing_key_file',
      observed: 'not configured',
      expected: 'the Ed25519 key manifests are signed with',
    });
    return {
      status: 'warn',
      summary: `snapshot ${newest.id} (${ageText(age)} old) holds the ${what}, but its manifest signature was not verified (no verify key configured)`,
      evidence,
      snapshot: newest,
    };
  }
  return {
    status: 'pass',
    summary: `snapshot ${newest.id}, ${ageText(age)} old, holds the ${what} (${proven})`,
    evidence,
    snapshot: newest,
  };
}

const REPO_REMEDIATION = {
  default:
    'Schedule `barysafe backup` (barysafe agent, cron or a systemd timer) more often than checks.rpo and alert on failures.',
  kubernetes: 'Run `barysafe backup` as a CronJob that mounts the data PVC read-only, more often than checks.rpo.',
};

const privateKey: CheckDefinition = {
  id: 'backup.private-key',
  section: 'backup',
  title: 'The signing key is in a snapshot younger than the RPO',
  rationale:
    'If the signing key is lost, every relying party must re-trust a new key and every session and token becomes invalid. jwks.json must travel with it (it is never regenerated from the key).',
  severity: 'critical',
  remediation: REPO_REMEDIATION,
  async run(ctx) {
    const r = await freshness(ctx, ['key'], 'signing key');
    if (r.status === 'error' || !r.snapshot) return strip(r);
    // The backup must hold the key in use now, not an older one.
    const recorded = r.snapshot.manifest.key.thumbprint;
    try {
      const live = (
        await parsePrivateJwk(await readFile(ctx.barycenter.privateKeyPath, 'utf8'), ctx.barycenter.privateKeyPath)
      ).facts;
      r.evidence.push({
        source: `file:${ctx.barycenter.privateKeyPath} (RFC 7638 thumbprint)`,
        observed: live.thumbprint,
        expected: recorded ?? '(not recorded in manifest)',
      });
      if (recorded && recorded !== live.thumbprint) {
        return {
          status: 'fail',
          summary: `snapshot ${r.snapshot.id} holds a different key (thumbprint ${recorded}) than the one in use (${live.thumbprint})`,
          evidence: r.evidence,
        };
      }
    } catch (e) {
      r.evidence.push({
        source: `file:${ctx.barycenter.privateKeyPath}`,
        note: `could not compare with the key in use: ${errorText(e)}`,
      });
    }
    return strip(r);
  },
};

const database: CheckDefinition = {
  id: 'backup.database',
  section: 'backup',
  title: 'The database is in a snapshot younger than the RPO',
  rationale:
    'Users, clients (with their secrets), consents and refresh tokens live in the database; losing more than the RPO forces re-registration and re-login.',
  severity: 'critical',
  remediation: REPO_REMEDIATION,
  async run(ctx) {
    const r = await freshness(ctx, ['database'], 'database');
    if ((r.status !== 'pass' && r.status !== 'warn') || !r.snapshot) return strip(r);
    // A snapshot of an empty or foreign database (older barysafe versions saved them) restores nothing.
    const d = r.snapshot.manifest.database;
    const problem = schemaProblem(d.migrations, Object.keys(d.row_counts));
    if (problem)
      return {
        status: 'fail',
        summary: `snapshot ${r.snapshot.id} holds a database with no Barycenter schema (${problem}); it restores nothing`,
        evidence: r.evidence,
      };
    return strip(r);
  },
};

const config: CheckDefinition = {
  id: 'backup.config',
  section: 'backup',
  title: 'The config is in a snapshot younger than the RPO',
  rationale:
    'The config decides the issuer, key paths and database location; restoring data under a different config breaks every token and client.',
  severity: 'high',
  remediation: REPO_REMEDIATION,
  async run(ctx) {
    // Barycenter runs on defaults + env when its config file does not exist: then the env is the config.
    const kinds: ArtifactKind[] = ctx.barycenter.configExists ? ['config'] : ['env'];
    const r = strip(
      await freshness(
        ctx,
        kinds,
        ctx.barycenter.configExists ? 'config' : 'service environment (no config file exists)',
      ),
    );
    r.evidence.unshift({
      source: `file:${ctx.barycenter.configPath}`,
      observed: ctx.barycenter.configExists ? 'exists' : 'absent (Barycenter runs on defaults + environment)',
    });
    return r;
  },
};

const restoreTested: CheckDefinition = {
  id: 'backup.restore-tested',
  section: 'backup',
  title: 'A restore drill passed within checks.drill_max_age',
  rationale:
    'A backup never restored is a hope, not a backup: the drill proves the snapshot boots, serves the right issuer and the production JWKS verifies its tokens.',
  severity: 'high',
  remediation: {
    default:
      'Run `barysafe restore --verify latest` on a schedule shorter than checks.drill_max_age and keep its signed record in the repository.',
  },
  async run(ctx) {
    const access = await readRepository(ctx);
    if (!access.ok)
      return {
        status: 'error',
        summary: `cannot read the ${access.source}: ${access.reason}`,
        evidence: [],
      };
    const repo = access.value;
    const maxText = ctx.config.checks.drill_max_age;
    const maxAge = parseDuration(maxText);
    const evidence: Evidence[] = [
      {
        source: `repository ${repo.displayUrl} evidence/ (drills), drills/`,
        observed: {
          records: repo.drills.length,
          failed_verification: repo.drills.filter((d) => d.verified === false).length,
        },
      },
    ];
    const valid = repo.drills.filter((d) => d.verified !== false);
    valid.sort((a, b) => Date.parse(a.record.finished_at) - Date.parse(b.record.finished_at));
    const latest = valid[valid.length - 1];
    const passed = valid.filter((d) => d.record.verdict === 'pass');
    const lastPass = passed[passed.length - 1];
    if (latest)
      evidence.push({
        source: `drill record ${latest.key}`,
        observed: {
          verdict: latest.record.verdict,
          finished_at: latest.record.finished_at,
          snapshot: latest.record.snapshot_id,
          signature: latest.verified ? 'verified' : 'not verified',
        },
      });
    if (!lastPass)
      return {
        status: 'fail',
        summary: valid.length
          ? `no drill passed (${valid.length} recorded, latest verdict ${latest!.record.verdict})`
          : 'no drill record in the repository',
        evidence,
      };
    const age = ctx.now.getTime() - Date.parse(lastPass.record.finished_at);
    evidence.push({
      source: `drill record ${lastPass.key}`,
      observed: {
        verdict: 'pass',
        finished_at: lastPass.record.finished_at,
        age: ageText(age),
        rto_ms: lastPass.record.rto_ms,
        rpo_ms: lastPass.record.rpo_ms,
        ...(lastPass.record.barycenter_build
          ? {
              barycenter_build: {
                production: describeIdentity(lastPass.record.barycenter_build.production),
                drill: describeIdentity(lastPass.record.barycenter_build.drill),
                comparison: lastPass.record.barycenter_build.comparison,
              },
            }
          : {}),
      },
      expected: `a pass younger than checks.drill_max_age = ${maxText}`,
    });
    if (age > maxAge)
      return {
        status: 'fail',
        summary: `the last passing drill is ${ageText(age)} old, older than ${maxText}`,
        evidence,
      };
    if (latest !== lastPass)
      return {
        status: 'warn',
        summary: `a drill passed ${ageText(age)} ago, but the latest (${latest!.record.finished_at}) ended ${latest!.record.verdict}`,
        evidence,
      };
    if (lastPass.verified === null)
      return {
        status: 'warn',
        summary: `a drill passed ${ageText(age)} ago, but its record's signature was not verified (no verify key configured)`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `drill ${lastPass.record.id} passed ${ageText(age)} ago (signature verified)`,
      evidence,
    };
  },
};

function strip(r: CheckOutcome & { snapshot?: GoodSnapshot }): CheckOutcome {
  const { snapshot: _s, ...rest } = r;
  return rest;
}

const keyAge: CheckDefinition = {
  id: 'backup.key-age',
  section: 'backup',
  title: 'The signing key in use is younger than keys.max_age',
  rationale:
    'Every token Barycenter issues is signed with one RSA key it never rotates by itself; the longer a key lives, the more a leak of it is worth and the harder its rotation becomes. A cryptoperiod makes the rotation a routine.',
  severity: 'medium',
  remediation: {
    default:
      'Rotate the signing key: publish the new public key in jwks.json next to the old one, switch private_key.pem, back up (barysafe backup), and remove the old public key once its tokens have expired.',
  },
  async run(ctx) {
    const maxText = ctx.config.keys.max_age;
    const max = parseDuration(maxText);
    const file = ctx.barycenter.privateKeyPath;
    const evidence: Evidence[] = [];
    let thumbprint: string | undefined;
    let mtime: number | undefined;
    try {
      thumbprint = (await parsePrivateJwk(await readFile(file, 'utf8'), file)).facts.thumbprint;
      mtime = (await stat(file)).mtimeMs;
      evidence.push({
        source: `file:${file}`,
        observed: { thumbprint, modified: new Date(mtime).toISOString() },
      });
    } catch (e) {
      evidence.push({ source: `file:${file}`, note: `not readable: ${errorText(e)}` });
    }
    const access = await readRepository(ctx);
    const history = access.ok ? keyHistory(access.value.snapshots) : [];
    const current = thumbprint ? history.find((h) => h.thumbprint === thumbprint) : history.find((h) => h.current);
    if (!access.ok) evidence.push({ source: access.source ?? 'repository', note: access.reason });
    if (current)
      evidence.push({
        source: `manifests in ${access.ok ? access.value.displayUrl : 'the repository'}`,
        observed: {
          kid: current.kid,
          first_snapshot: current.first.snapshot,
          first_backed_up: current.first.created_at,
        },
      });
    // The JWK has no creation date: the key is at least as old as the first snapshot holding it and
    // as its file's modification time (a restore rewrites the file, the snapshot keeps the date).
    const since = Math.min(
      ...[mtime, current ? Date.parse(current.first.created_at) : undefined].filter(
        (t): t is number => t !== undefined && Number.isFinite(t),
      ),
    );
    if (!Number.isFinite(since))
      return {
        status: 'error',
        summary: `the age of the signing key is unknown: ${file} is not readable and no snapshot holds a key`,
        evidence,
      };
    const age = ctx.now.getTime() - since;
    const kid = current?.kid ?? '(unknown kid)';
    if (age > max)
      return {
        status: 'warn',
        summary: `the signing key ${kid} is at least ${ageText(age)} old, older than keys.max_age = ${maxText}`,
        evidence: [...evidence, { source: 'key age', observed: ageText(age), expected: `at most ${maxText}` }],
      };
    return {
      status: 'pass',
      summary: `the signing key ${kid} is at least ${ageText(age)} old (keys.max_age = ${maxText})`,
      evidence,
    };
  },
};

const objectLock: CheckDefinition = {
  id: 'backup.object-lock',
  section: 'backup',
  title: 'The repository bucket has versioning and S3 Object Lock, and barysafe sets a retention',
  rationale:
    'A host that can write backups can usually delete them; ransomware and a compromised host delete backups first. Object Lock retention makes every snapshot undeletable until its retention expires, whatever credentials an attacker holds.',
  severity: 'medium',
  remediation: {
    default:
      'Create the bucket with Object Lock (it turns versioning on), set [repository] object_lock = { mode = "COMPLIANCE", days = N } with N above the retention you keep, and add a lifecycle rule that expires noncurrent versions.',
  },
  async run(ctx) {
    const p = await readProtection(ctx);
    if (!p.ok) return unreadable(p);
    if (!p.value)
      return {
        status: 'skip',
        summary: `${p.source} is a file:// repository: Object Lock does not apply (protect the directory another way)`,
        evidence: [{ source: p.source }],
      };
    const b = p.value;
    const configured = ctx.config.repository.object_lock;
    const evidence: Evidence[] = [
      {
        source: p.source,
        observed: {
          versioning: b.versioning,
          object_lock: b.objectLock,
          default_retention: b.defaultRetention ?? null,
        },
        expected: { versioning: 'enabled', object_lock: 'enabled' },
        ...(b.notes.length ? { note: b.notes.join('; ') } : {}),
      },
      {
        source: 'repository.object_lock in barysafe.toml',
        observed: configured ?? 'not set',
      },
    ];
    if (b.objectLock === 'unknown' || b.versioning === 'unknown')
      return {
        status: 'error',
        summary: `the store did not say whether versioning and Object Lock are on (${b.notes.join('; ') || 'no answer'})`,
        evidence,
      };
    if (b.objectLock !== 'enabled') {
      if (configured)
        return {
          status: 'fail',
          summary: `repository.object_lock is set but the bucket has no Object Lock: the retention barysafe asks for is not applied`,
          evidence,
        };
      return {
        status: 'warn',
        summary: `the bucket has no Object Lock (versioning ${b.versioning}): whoever can write the backups can delete them`,
        evidence,
      };
    }
    if (!configured && !b.defaultRetention)
      return {
        status: 'warn',
        summary:
          'the bucket has Object Lock, but neither repository.object_lock nor a default retention sets a retention: objects are written unlocked',
        evidence,
      };
    const how = configured
      ? `${configured.mode} for ${configured.days} days on every object`
      : `the bucket's default retention (${b.defaultRetention!.mode})`;
    return { status: 'pass', summary: `versioning and Object Lock are on; ${how}`, evidence };
  },
};

/**
 * The repository against this host's anchor (the newest snapshot this host saw verified there):
 * someone who can write the bucket can delete the newest snapshots or put an old copy back, and
 * every snapshot left still verifies. Only state outside the repository shows it. A failure here
 * makes `barysafe check` exit 13 (integrity), like restore and the drill.
 */
const rollback: CheckDefinition = {
  id: 'backup.rollback',
  section: 'backup',
  title: 'The repository still reaches the newest snapshot this host has seen',
  rationale:
    'A repository rolled back to older snapshots still verifies snapshot by snapshot; restoring "latest" from it would quietly bring back an older key and database. The host keeps an anchor outside the repository to notice.',
  severity: 'high',
  remediation: {
    default:
      'Investigate who deleted or replaced snapshots (storage access logs); restore the missing snapshots from a copy, or restore an older one knowingly with --allow-rollback. Restrict delete rights on the bucket (object lock).',
  },
  async run(ctx): Promise<CheckOutcome> {
    const url = redactUrl(ctx.config.repository.url);
    const anchors = new AnchorStore(stateDir(ctx.config));
    const keyFile = verifyKeyFile(ctx.config);
    if (!keyFile)
      return {
        status: 'error',
        summary: 'no key to verify manifests (encryption.verify_key or encryption.signing_key_file)',
        evidence: [{ source: 'barysafe.toml [encryption]', observed: 'no verify key' }],
      };
    try {
      const storage = openStorage(ctx.config.repository);
      try {
        const repo = new Repository(storage, await loadVerifier(keyFile));
        const anchored = await readAnchor(repo, anchors); // before the listing (compareWithAnchor)
        const newest = await newestVerified(repo, ctx.now);
        const found = await compareWithAnchor(repo, anchored, newest.entry);
        const evidence = [
          {
            source: `anchor in ${anchors.dir}`,
            observed: found.anchor
              ? {
                  snapshot: found.anchor.snapshot.id,
                  sequence: found.anchor.snapshot.sequence,
                  seen: found.anchor.updated_at,
                }
              : 'none',
          },
          {
            source: `repository ${storage.displayUrl}`,
            observed: {
              repository_id: found.repositoryId,
              newest_verified: newest.entry?.id ?? null,
              sequence: newest.entry?.manifest.sequence ?? null,
            },
            ...(newest.skipped.length ? { note: newest.skipped.join('; ') } : {}),
          },
        ];
        if (found.problems.length)
          return {
            status: 'fail',
            summary: `${storage.displayUrl} was rolled back: ${found.problems.join('; ')}`,
            evidence,
          };
        if (!found.anchor)
          return newest.entry
            ? {
                status: 'warn',
                summary: `this host has no anchor for ${storage.displayUrl}, so it cannot tell whether newer snapshots were removed (a backup or restore on this host records one)`,
                evidence,
              }
            : { status: 'skip', summary: `${storage.displayUrl} holds no verified snapshot yet`, evidence };
        return {
          status: 'pass',
          summary: `the newest verified snapshot ${newest.entry!.id} is not older than ${found.anchor.snapshot.id}, the newest this host has seen`,
          evidence,
        };
      } finally {
        await storage.close?.();
      }
    } catch (e) {
      return {
        status: 'error',
        summary: `cannot compare ${url} with this host's anchor: ${redactText(errorText(e))}`,
        evidence: [{ source: `anchor in ${anchors.dir}`, note: redactText(errorText(e)) }],
      };
    }
  },
};

export const checks: CheckDefinition[] = [privateKey, database, config, restoreTested, keyAge, objectLock, rollback];
