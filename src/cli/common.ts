import type { Command } from 'commander';
import { BarysafeError, ExitCode, errorDocument, errorText, isBarysafeError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { redactText } from '../redact.js';
import { configPathFrom, loadConfig, type LoadedConfig } from '../config/load.js';
import { openStorage } from '../repository/open-storage.js';
import type { Storage } from '../repository/storage.js';
import { loadVerifier, type Verifier } from '../crypto/signing.js';
import { verifyKeyFile, type BarysafeConfig } from '../config/schema.js';

/** Options every command has (defined on the root program). */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  logLevel?: string;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function loggerFor(g: GlobalOptions): Logger {
  return createLogger({ level: g.logLevel });
}

export async function configFor(g: GlobalOptions): Promise<LoadedConfig> {
  return loadConfig(configPathFrom(g.config));
}

export function storageFor(config: BarysafeConfig): Storage {
  try {
    return openStorage(config.repository);
  } catch (e) {
    throw new BarysafeError('repository', errorText(e), {
      exitCode: ExitCode.USAGE,
      hint: 'fix repository.url in barysafe.toml',
    });
  }
}

/** The key that verifies manifests: encryption.verify_key, else derived from the signing key. */
export async function verifierFor(config: BarysafeConfig): Promise<Verifier | undefined> {
  const file = verifyKeyFile(config);
  return file ? loadVerifier(file) : undefined;
}

/** Writes the one JSON document a --json command prints on stdout. */
export function printJson(doc: unknown): void {
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Wraps a command action: errors become one clear message on stderr (and a JSON error document
 * on stdout with --json) and a documented exit code. Messages are scrubbed of secrets.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const g = globals(cmd);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? ExitCode.OK;
    } catch (e) {
      const err = isBarysafeError(e)
        ? e
        : new BarysafeError('internal', `unexpected error: ${errorText(e)}`, { exitCode: ExitCode.INTERNAL });
      const doc = errorDocument(err);
      const { message, hint } = doc.error;
      if (g.json) printJson(doc);
      process.stderr.write(`barysafe: error: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
      if (!isBarysafeError(e) && process.env.BARYSAFE_DEBUG && e instanceof Error)
        process.stderr.write(redactText(e.stack ?? '') + '\n');
      process.exitCode = err.exitCode;
    }
  };
}
