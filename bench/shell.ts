import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { runMeasured, type Measured } from './measure.js';

/**
 * The pipelines an operator would write by hand, timed the same way as barysafe:
 *   PostgreSQL: pg_dump -Fc "<url>" | age -r R > file          (bash, set -o pipefail)
 *   SQLite:     sqlite3 db ".backup copy" && age -r R -o file copy
 * The password travels in PGPASSWORD, not on the command line.
 */
export interface ShellResult extends Measured {
  outputBytes: number;
  /** The encrypted file, kept for the restore comparison; the caller removes it. */
  output: string;
}

export async function shellPostgres(
  url: string,
  binDir: string,
  recipient: string,
  outDir: string,
): Promise<ShellResult> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  const out = path.join(outDir, 'shell.pgdump.age');
  const r = await runMeasured('bash', ['-c', 'set -o pipefail; "$PG_DUMP" -Fc "$PG_URL" | age -r "$R" > "$OUT"'], {
    env: {
      ...process.env,
      PGPASSWORD: password,
      PG_DUMP: path.join(binDir, 'pg_dump'),
      PG_URL: u.toString(),
      R: recipient,
      OUT: out,
    },
  });
  return { ...r, outputBytes: size(out), output: out };
}

export async function shellSqlite(dbPath: string, recipient: string, outDir: string): Promise<ShellResult> {
  const copy = path.join(outDir, 'shell-copy.db');
  const out = path.join(outDir, 'shell.db.age');
  const r = await runMeasured(
    'bash',
    ['-c', 'set -e; sqlite3 "$DB" ".backup \'$COPY\'"; age -r "$R" -o "$OUT" "$COPY"'],
    {
      env: { ...process.env, DB: dbPath, COPY: copy, R: recipient, OUT: out },
    },
  );
  await rm(copy, { force: true });
  return { ...r, outputBytes: size(out), output: out };
}

/** The restore an operator would write: `age -d -i identity -o out file`. */
export async function shellDecrypt(identityFile: string, input: string, out: string): Promise<Measured> {
  const r = await runMeasured('age', ['-d', '-i', identityFile, '-o', out, input]);
  await rm(out, { force: true });
  return r;
}

/**
 * The same, then `sync out` (coreutils fsyncs the named file): what a restore that may not lose its
 * output to a crash pays, as barysafe's does (it fsyncs each file before renaming it into place).
 * `age -d` alone leaves its output in the page cache; on a disk slower than the decryption the
 * difference is most of barysafe's excess (measured on a VM: 1.17 s for 1 GiB, 1.41 s with the sync).
 */
export async function shellDecryptDurable(identityFile: string, input: string, out: string): Promise<Measured> {
  const r = await runMeasured('sh', ['-c', 'age -d -i "$1" -o "$2" "$3" && sync "$2"', 'sh', identityFile, out, input]);
  await rm(out, { force: true });
  return r;
}

/** `sqlite3 db "PRAGMA integrity_check"` alone: the floor of a checked SQLite backup. */
export async function shellIntegrityCheck(dbPath: string): Promise<Measured> {
  return runMeasured('sqlite3', [dbPath, 'PRAGMA integrity_check']);
}

function size(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}
