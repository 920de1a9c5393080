import { readAtMost } from '../platform/bounded-read.js';
import os from 'node:os';
import { Readable } from 'node:stream';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { redactText } from '../redact.js';
import { VERSION } from '../version.js';
import { IN_TOTO_PAYLOAD_TYPE, serializeEnvelope, signEnvelope, type DsseEnvelope } from '../crypto/dsse.js';
import type { Signer } from '../crypto/signing.js';
import { evidenceKey, EVIDENCE_PREFIX, parseEvidenceKey } from './layout.js';
import { isRepositoryMissing, repoError } from './repository.js';
import { sha256Hex } from './signed-document.js';
import { StorageExistsError, StorageNotFoundError, type Storage } from './storage.js';

/**
 * The evidence chain (docs/EVIDENCE.md): every run that proves something appends one DSSE
 * envelope holding an in-toto Statement v1 under evidence/. Records are numbered 1, 2, 3 …, each
 * names the SHA-256 of the previous record's stored bytes, and each is created with
 * if-none-match, so two writers can never both hold the same number: the loser re-reads the head
 * and retries with the next number. The chain is the complete population an auditor samples from.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** One predicate type per kind of run. The drill uses in-toto's own test-result predicate. */
export const PREDICATE_TYPES = {
  backup: 'https://barysafe.dev/evidence/backup/v1',
  drill: 'https://in-toto.io/attestation/test-result/v0.1',
  check: 'https://barysafe.dev/evidence/check/v1',
  report: 'https://barysafe.dev/evidence/report/v1',
  verify: 'https://barysafe.dev/evidence/verify/v1',
  forget: 'https://barysafe.dev/evidence/forget/v1',
} as const;
export type RunKind = keyof typeof PREDICATE_TYPES;
export const RUN_KINDS = Object.keys(PREDICATE_TYPES) as RunKind[];

/** The drill's four verdicts, used for every kind of run. */
export type Outcome = 'pass' | 'fail' | 'inconclusive' | 'error';

/** An in-toto ResourceDescriptor (at least one of uri and digest). */
export interface ResourceDescriptor {
  name: string;
  uri?: string;
  digest?: { sha256: string };
  mediaType?: string;
  annotations?: Record<string, string>;
}

/** A stored document by digest: `name` is its repository key. */
export type DocumentRef = ResourceDescriptor & { digest: { sha256: string } };

/** `predicate.barysafe`: what every record carries, whatever its predicate type (an extension field). */
export interface RunInfo {
  run: RunKind;
  sequence: number;
  /** The previous record: its number and the SHA-256 of its stored bytes; null for record 1. */
  previous: { sequence: number; sha256: string } | null;
  host: string;
  tool: { name: 'barysafe'; version: string };
  startedAt: string;
  finishedAt: string;
  outcome: Outcome;
  exitCode: number;
  /** One line, secrets removed. */
  summary: string;
  /** Repository documents this record vouches for; verify-evidence checks each exists with this digest. */
  cites: DocumentRef[];
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: DocumentRef[];
  predicateType: string;
  predicate: Record<string, unknown> & { barysafe: RunInfo };
}

/** What a command hands to appendEvidence. */
export interface EvidenceInput {
  run: RunKind;
  outcome: Outcome;
  exitCode: number;
  summary: string;
  startedAt: Date;
  finishedAt: Date;
  /** What the statement is about (a manifest, a report). Empty: the previous record stands in. */
  subject: DocumentRef[];
  /** Documents to check for existence and digest (subjects that are stored documents belong here too). */
  cites?: DocumentRef[];
  /** The type-specific fields of the predicate (docs/EVIDENCE.md); `barysafe` is added. */
  predicate?: Record<string, unknown>;
}

export interface AppendedEvidence {
  key: string;
  sequence: number;
  /** SHA-256 of the stored bytes: what the next record chains to. */
  sha256: string;
  envelope: DsseEnvelope;
  statement: Statement;
}

// Each lost race means another record landed, so with N concurrent writers the last one may lose
// N-1 times; the bound only stops a writer that can never win (a store ignoring create-only).
const MAX_ATTEMPTS = 64;

/**
 * Appends one record. On a lost race (another writer created the same number first) it re-reads
 * the head and retries with the next number, up to MAX_ATTEMPTS times.
 */
export async function appendEvidence(
  storage: Storage,
  signer: Signer,
  input: EvidenceInput,
): Promise<AppendedEvidence> {
  for (let attempt = 1; ; attempt++) {
    // A writer may start the chain in a folder that is not there yet (its put creates it).
    const head = await readHead(storage).catch((e: unknown) => {
      if (isRepositoryMissing(e)) return null;
      throw e;
    });
    const sequence = (head?.sequence ?? 0) + 1;
    const statement = buildStatement(input, sequence, head);
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), signer);
    const bytes = serializeEnvelope(envelope);
    const key = evidenceKey(sequence);
    try {
      await storage.put(key, Readable.from([bytes]), { contentLength: bytes.length, ifNoneMatch: true });
      return { key, sequence, sha256: sha256Hex(bytes), envelope, statement };
    } catch (e) {
      if (!(e instanceof StorageExistsError)) throw repoError(storage, e);
      if (attempt >= MAX_ATTEMPTS)
        throw new BarysafeError(
          'evidence',
          `could not append to the evidence chain in ${storage.displayUrl}: ${attempt} other writers took the next number first`,
          { exitCode: ExitCode.REPOSITORY, hint: 'retry; if it persists, something is writing evidence/ in a loop' },
        );
      await new Promise((r) => setTimeout(r, 20 + Math.floor(Math.random() * 80)));
    }
  }
}

/** appendEvidence that never throws: for commands whose own outcome must not be hidden by it. */
export async function tryAppendEvidence(
  storage: Storage,
  signer: Signer,
  input: EvidenceInput,
): Promise<{ ok: true; record: AppendedEvidence } | { ok: false; error: string }> {
  try {
    return { ok: true, record: await appendEvidence(storage, signer, input) };
  } catch (e) {
    return { ok: false, error: redactText(errorText(e)) };
  }
}

export function buildStatement(
  input: EvidenceInput,
  sequence: number,
  head: { sequence: number; key: string; sha256: string } | null,
): Statement {
  const barysafe: RunInfo = {
    run: input.run,
    sequence,
    previous: head ? { sequence: head.sequence, sha256: head.sha256 } : null,
    host: os.hostname(),
    tool: { name: 'barysafe', version: VERSION },
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    outcome: input.outcome,
    exitCode: input.exitCode,
    summary: redactText(input.summary),
    cites: input.cites ?? [],
  };
  // A Statement needs a subject with a digest; a run that produced nothing (a failed backup) is
  // about the chain as it stood, so the previous record stands in.
  const subject = input.subject.length
    ? input.subject
    : head
      ? [{ name: head.key, digest: { sha256: head.sha256 } }]
      : [{ name: '_', digest: { sha256: sha256Hex(Buffer.alloc(0)) } }];
  return {
    _type: STATEMENT_TYPE,
    subject,
    predicateType: PREDICATE_TYPES[input.run],
    predicate: { ...(input.predicate ?? {}), barysafe },
  };
}

/** Every record key with its number, in chain order. */
export async function listEvidence(storage: Storage): Promise<Array<{ key: string; sequence: number }>> {
  const out: Array<{ key: string; sequence: number }> = [];
  try {
    for await (const o of storage.list(EVIDENCE_PREFIX)) {
      const sequence = parseEvidenceKey(o.key);
      if (sequence !== null) out.push({ key: o.key, sequence });
    }
  } catch (e) {
    throw repoError(storage, e);
  }
  return out.sort((a, b) => a.sequence - b.sequence);
}

/** The newest record: its number, key and the SHA-256 of its exact stored bytes (whatever their state). */
export async function readHead(storage: Storage): Promise<{ sequence: number; key: string; sha256: string } | null> {
  const all = await listEvidence(storage);
  const last = all[all.length - 1];
  if (!last) return null;
  return { ...last, sha256: sha256Hex(await readObject(storage, last.key)) };
}

const MAX_RECORD_BYTES = 32 * 1024 * 1024;

export async function readObject(storage: Storage, key: string): Promise<Buffer> {
  let read: { bytes: Buffer; over: boolean };
  try {
    read = await readAtMost(await storage.get(key), MAX_RECORD_BYTES);
  } catch (e) {
    if (e instanceof StorageNotFoundError) throw e;
    throw repoError(storage, e);
  }
  if (read.over)
    throw new BarysafeError('evidence', `${key} is larger than ${MAX_RECORD_BYTES} bytes; refusing to read it`, {
      exitCode: ExitCode.INTEGRITY,
    });
  return read.bytes;
}

/** The descriptor of a stored document, for `subject` and `cites`. */
export function describe(key: string, bytes: Uint8Array, mediaType = 'application/json'): DocumentRef {
  return { name: key, digest: { sha256: sha256Hex(bytes) }, mediaType };
}
