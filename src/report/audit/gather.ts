import { createHash } from 'node:crypto';
import os from 'node:os';
import type { BarysafeConfig } from '../../config/schema.js';
import { parseDuration } from '../../units.js';
import { resolveBarycenter } from '../../config/barycenter.js';
import type { Verifier } from '../../crypto/signing.js';
import { redactUrl } from '../../redact.js';
import { readObject } from '../../repository/evidence.js';
import { verifyEvidence } from '../../repository/evidence-verify.js';
import { newSnapshotId } from '../../repository/manifest.js';
import type { Storage } from '../../repository/storage.js';
import type { CheckReport } from '../../checks/report.js';
import { buildAuditReport } from './build.js';
import type { AuditReport, Cited } from './model.js';

/** Reads what the report needs from the repository: the verified chain and the newest check report. */
export async function gatherAuditReport(
  config: BarysafeConfig,
  storage: Storage,
  verifier: Verifier,
  opts: { now: Date; since: Date },
): Promise<AuditReport> {
  const verification = await verifyEvidence(storage, verifier, { since: opts.since });
  const lastCheck = verification.runs.filter((r) => r.info.run === 'check').pop();
  let check: { report: CheckReport; cited: Cited } | null = null;
  const cited = lastCheck?.info.cites[0];
  if (cited) {
    try {
      const report = JSON.parse((await readObject(storage, cited.name)).toString('utf8')) as CheckReport;
      check = { report, cited: { name: cited.name, digest: { sha256: cited.digest.sha256 } } };
    } catch {
      // verify-evidence already names a missing or changed report; the matrix then stays empty.
    }
  }
  return buildAuditReport({
    id: newSnapshotId(opts.now),
    now: opts.now,
    since: opts.since,
    verification,
    check,
    rpoTargetMs: parseDuration(config.checks.rpo),
    environment: {
      host: os.hostname(),
      deployment: check?.report.deployment.type ?? null,
      issuer: check?.report.barycenter.issuer ?? safeIssuer(config),
      repository: storage.displayUrl,
      config_digest: configDigest(config),
      signing_key: verifier.keyId,
    },
  });
}

function safeIssuer(config: BarysafeConfig): string | null {
  try {
    return resolveBarycenter(config.barycenter).issuer;
  } catch {
    return null;
  }
}

const SECRET_KEY = /pass|secret|token|credential|private/i;

/**
 * A digest that changes when Barycenter's effective settings change, without being a hash of a
 * secret: every value under a secret-sounding name is replaced, URLs lose their passwords, and
 * the digest covers the result (sorted keys), never the file bytes.
 */
export function configDigest(config: BarysafeConfig): string | null {
  try {
    const settings = resolveBarycenter(config.barycenter).settings as unknown;
    return createHash('sha256')
      .update(stable(scrub(settings)))
      .digest('hex');
  } catch {
    return null;
  }
}

function scrub(v: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== 'boolean') return '***';
  if (typeof v === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? redactUrl(v) : v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, key));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrub(x, k)]));
  return v;
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}
