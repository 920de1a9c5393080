// Fatal errors are printed like miette's report for `main() -> miette::Result<()>` and exit 1.

export class FatalError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    readonly help?: string,
  ) {
    super(message);
  }
}

/** Error kinds of Barycenter's CrabError, with their Display prefixes and miette codes. */
export const crab = {
  io: (m: string) => new FatalError(`I/O error: ${m}`, 'barycenter::io'),
  serde: (m: string) => new FatalError(`Serialization error: ${m}`, 'barycenter::serde'),
  db: (m: string) => new FatalError(`Database error: ${m}`, 'barycenter::db'),
  configuration: (m: string) =>
    new FatalError(`Configuration error: ${m}`, 'barycenter::configuration', 'Check your configuration settings'),
  other: (m: string) => new FatalError(m, 'barycenter::other'),
};

export function reportAndExit(err: unknown): never {
  const e = err instanceof FatalError ? err : new FatalError(err instanceof Error ? err.message : String(err));
  let out = 'Error: ';
  out += e.code ? `${e.code}\n\n  × ${e.message}\n` : `  × ${e.message}\n`;
  if (e.help) out += `  help: ${e.help}\n`;
  process.stderr.write(out);
  process.exit(1);
}
