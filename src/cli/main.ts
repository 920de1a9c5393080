import { Command } from 'commander';
import { VERSION } from '../version.js';
import { ExitCode } from '../errors.js';
import { redactText } from '../redact.js';
import { installSignalHandlers } from '../platform/lifecycle.js';
import { registerBackup } from './backup.js';
import { registerDemo } from './demo.js';
import { registerInit } from './init.js';
import { registerSnapshots } from './snapshots.js';
import { registerRestore } from './restore.js';
import { registerCheck } from './check.js';
import { registerVerifyEvidence } from './verify-evidence.js';
import { registerEvidence } from './evidence.js';
import { registerReport } from './report.js';
import { registerVerifyReport } from './verify-report.js';
import { registerVerify } from './verify.js';

export function buildProgram(): Command {
  const program = new Command('barysafe')
    .description(
      'Encrypted, signed backups, restore drills and production checks for the Barycenter OpenID Connect IdP',
    )
    .version(VERSION)
    .option('--config <file>', 'barysafe.toml (default: $BARYSAFE_CONFIG, then ./barysafe.toml)')
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .option(
      '--log-level <level>',
      'log level on stderr: debug, info, warn, error',
      process.env.BARYSAFE_LOG_LEVEL ?? 'info',
    )
    .showHelpAfterError()
    .enablePositionalOptions(false);
  registerInit(program);
  registerBackup(program);
  registerSnapshots(program);
  registerRestore(program);
  registerCheck(program);
  registerVerify(program);
  registerVerifyEvidence(program);
  registerEvidence(program);
  registerReport(program);
  registerVerifyReport(program);
  registerDemo(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // The lockfile pins AWS SDK releases that support Node 20; their upgrade notice is noise on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  installSignalHandlers();
  const program = buildProgram();
  program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    // Every command wraps its action; this is the net for anything that escapes (a bug).
    process.stderr.write(`barysafe: internal error: ${redactText(e instanceof Error ? e.message : String(e))}\n`);
    process.exitCode = ExitCode.INTERNAL;
  }
}
