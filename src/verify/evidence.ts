import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { BarysafeConfig } from '../config/schema.js';
import { loadSigner } from '../crypto/signing.js';
import {
  appendEvidence,
  readObject,
  type AppendedEvidence,
  type Outcome,
  type DocumentRef,
  type ResourceDescriptor,
} from '../repository/evidence.js';
import { manifestKey } from '../repository/layout.js';
import { sha256Hex } from '../repository/signed-document.js';
import type { Storage } from '../repository/storage.js';
import { VERSION } from '../version.js';
import type { DrillResult } from './types.js';

/**
 * The drill as an in-toto test-result predicate (https://in-toto.io/attestation/test-result/v0.1):
 * the subject is the snapshot's manifest, each drill step is a test, and the configuration names
 * barysafe and the Barycenter build that was booted, by digest where it is a file. What the
 * standard fields cannot hold (RTO, RPO, targets, step details) is in the `barysafeDrill`
 * extension field.
 */
const RESULT: Record<Outcome, 'PASSED' | 'WARNED' | 'FAILED'> = {
  pass: 'PASSED',
  inconclusive: 'WARNED',
  fail: 'FAILED',
  error: 'FAILED',
};

export async function recordDrill(
  storage: Storage,
  config: BarysafeConfig,
  result: DrillResult,
  recordKey: string,
): Promise<AppendedEvidence> {
  const signer = await loadSigner(config.encryption.signing_key_file!);
  const record: DocumentRef = {
    name: recordKey,
    digest: { sha256: sha256Hex(await readObject(storage, recordKey)) },
    mediaType: 'application/json',
  };
  const manifest: DocumentRef[] =
    result.snapshot_id && result.snapshot_sha256
      ? [
          {
            name: manifestKey(result.snapshot_id),
            digest: { sha256: result.snapshot_sha256 },
            mediaType: 'application/json',
          },
        ]
      : [];
  const by = (...v: string[]) => result.steps.filter((s) => v.includes(s.verdict)).map((s) => s.name);
  return appendEvidence(storage, signer, {
    run: 'drill',
    outcome: result.verdict,
    exitCode: result.exit_code,
    summary: `drill ${result.drill_id} of snapshot ${result.snapshot_id ?? '(unresolved)'}: ${result.verdict}${result.rto_ms !== null ? `, RTO ${result.rto_ms} ms` : ''}`,
    startedAt: new Date(result.started_at),
    finishedAt: new Date(result.finished_at),
    subject: manifest,
    cites: [...manifest, record],
    predicate: {
      result: RESULT[result.verdict],
      configuration: await configuration(config),
      passedTests: by('pass'),
      warnedTests: by('inconclusive'),
      failedTests: by('fail', 'error'),
      barysafeDrill: {
        drillId: result.drill_id,
        snapshotId: result.snapshot_id,
        verdict: result.verdict,
        rtoMs: result.rto_ms,
        rpoMs: result.rpo_ms,
        ...(result.rto_target_ms !== undefined ? { rtoTargetMs: result.rto_target_ms, rtoMet: result.rto_met } : {}),
        ...(result.rpo_target_ms !== undefined ? { rpoTargetMs: result.rpo_target_ms, rpoMet: result.rpo_met } : {}),
        launcher: result.launcher,
        record: recordKey,
        steps: result.steps.map((s) => ({
          name: s.name,
          verdict: s.verdict,
          durationMs: s.duration_ms,
          detail: s.detail,
        })),
      },
    },
  });
}

async function configuration(config: BarysafeConfig): Promise<ResourceDescriptor[]> {
  const out: ResourceDescriptor[] = [
    {
      name: 'barysafe',
      uri: `pkg:npm/barysafe@${VERSION}`,
      annotations: {
        ...(config.drill.rto_target ? { rtoTarget: config.drill.rto_target } : {}),
        ...(config.drill.rpo_target ? { rpoTarget: config.drill.rpo_target } : {}),
      },
    },
  ];
  const bin = config.drill.barycenter_bin;
  if (bin) {
    const digest = await fileSha256(bin).catch(() => null);
    out.push({ name: 'barycenter', uri: pathToFileURL(bin).href, ...(digest ? { digest: { sha256: digest } } : {}) });
  } else if (config.drill.image) out.push({ name: 'barycenter', uri: `docker://${config.drill.image}` });
  else if (config.drill.command) out.push({ name: 'barycenter', uri: 'command:drill.command' });
  return out;
}

function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (c) => h.update(c))
      .once('error', reject)
      .once('end', () => resolve(h.digest('hex')));
  });
}
