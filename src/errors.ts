import { redactText } from './redact.js';
/**
 * Every failure a user can meet is a BarysafeError: a message that says what went wrong, a hint
 * that says what to fix, and a documented exit code (docs/EXIT_CODES.md). Anything else that
 * escapes is a bug and exits with INTERNAL.
 */
export const ExitCode = {
  OK: 0,
  /** The command did not do what it says (generic failure). */
  FAILURE: 1,
  /** Bad usage or configuration: nothing was attempted. */
  USAGE: 2,
  /** A check or drill ran and found a failure. */
  CHECK_FAILED: 3,
  /** A drill or check could not decide (e.g. production JWKS unreachable). */
  INCONCLUSIVE: 4,
  /** The repository is missing, unreachable or not writable. */
  REPOSITORY: 10,
  /** Another barysafe holds the repository lock. */
  LOCKED: 11,
  /** Wrong or missing age identity: nothing could be decrypted. */
  IDENTITY: 12,
  /** Integrity failure: bad signature, broken chain, hash mismatch, corrupt object. */
  INTEGRITY: 13,
  /** A source (key file, database, config) could not be read or is invalid. */
  SOURCE: 14,
  /** Interrupted by a signal. */
  INTERRUPTED: 130,
  INTERNAL: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * What failed, as `--json` prints it in `error.kind` (scripts branch on it; docs/EXIT_CODES.md
 * lists them). Grouped by where the failure is: the command line and config, the repository and
 * what it stores, the keys, the sources of a backup, and the tools and services barysafe drives.
 */
export const ERROR_KINDS = [
  // command line, configuration, local state
  'usage',
  'config',
  'init',
  'state',
  'temp',
  'output',
  'interrupted',
  'internal',
  // the repository and its documents
  'repository',
  'lock',
  'upload',
  'missing',
  'snapshot',
  'manifest',
  'signature',
  'signing-key',
  'integrity',
  'rollback',
  'anchor',
  'evidence',
  'drill-record',
  // age identities and the IdP's keys
  'identity',
  'recipient',
  'decrypt',
  'key',
  'jwks',
  // sources and targets
  'sqlite',
  'postgres',
  'pg_dump',
  'pg_restore',
  'backup',
  'restore',
  'drill',
  // services barysafe runs or talks to
  'browser',
  'listen',
  'notify',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class BarysafeError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint?: string;
  readonly kind: ErrorKind;
  constructor(
    kind: ErrorKind,
    message: string,
    opts: { exitCode?: ExitCodeValue; hint?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'BarysafeError';
    this.kind = kind;
    this.exitCode = opts.exitCode ?? ExitCode.FAILURE;
    this.hint = opts.hint;
  }
}

export function isBarysafeError(e: unknown): e is BarysafeError {
  return e instanceof BarysafeError;
}

/** The text of an unknown thrown value, without its stack. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * The document a failed command prints on stdout with --json: the same for a usage mistake caught
 * by the parser as for a failure inside a command. Message and hint are scrubbed of secrets.
 */
export function errorDocument(err: BarysafeError): {
  ok: false;
  error: { kind: ErrorKind; message: string; hint?: string; exit_code: ExitCodeValue };
} {
  const hint = err.hint ? redactText(err.hint) : undefined;
  return {
    ok: false,
    error: { kind: err.kind, message: redactText(err.message), ...(hint ? { hint } : {}), exit_code: err.exitCode },
  };
}
