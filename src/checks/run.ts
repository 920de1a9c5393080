import { BarysafeError, ExitCode } from '../errors.js';
import { resolveDeployment } from '../config/barycenter.js';
import type { LoadedConfig } from '../config/load.js';
import { catalogue, selectChecks } from './catalogue.js';
import { detectDeployment, runChecks } from './engine.js';
import { publicUrl } from './evidence/http.js';
import { buildReport, type CheckReport } from './report.js';
import type { CheckDefinition, DeploymentType } from './types.js';

/** A `check` run from the selection to the report: the use case behind `barysafe check`. */

export interface Selection {
  /** The whole catalogue (waivers are checked against every id, not only the selected ones). */
  all: CheckDefinition[];
  selected: CheckDefinition[];
}

/**
 * Resolves `--only` (ids or section names) against the catalogue. An unknown id is a usage error,
 * raised before any file is read.
 */
export function selectFromCatalogue(only?: string[], definitions: CheckDefinition[] = catalogue()): Selection {
  const { selected, unknown } = selectChecks(definitions, only);
  if (unknown.length)
    throw new BarysafeError('usage', `--only names unknown check(s): ${unknown.join(', ')}`, {
      exitCode: ExitCode.USAGE,
      hint: 'see `barysafe check --list`',
    });
  return { all: definitions, selected };
}

export interface CheckRunOptions {
  selection: Selection;
  /** --deployment: overrides checks.deployment and detection. */
  deployment?: DeploymentType;
  now?: Date;
}

/** Resolves Barycenter's effective config, detects the deployment, runs the checks and builds the report. */
export async function runCheckReport(loaded: LoadedConfig, opts: CheckRunOptions): Promise<CheckReport> {
  const { config, path: configPath } = loaded;
  // The deployment's own definition (unit, container, pod) adds its environment to the settings.
  const { bc: barycenter, serviceError } = await resolveDeployment(config);
  const deployment = await detectDeployment(config, opts.deployment, { port: barycenter.settings.server.port });
  const now = opts.now ?? new Date();
  const results = await runChecks(opts.selection.selected, { config, configPath, barycenter, deployment, now });
  const known = new Set(opts.selection.all.map((d) => d.id));
  const warnings = [
    ...(serviceError
      ? [
          `the deployment's own definition could not be read (${serviceError}); its environment is not part of the settings`,
        ]
      : []),
    ...barycenter.serviceMismatches,
  ];
  for (const w of config.checks.waivers)
    if (!known.has(w.id)) warnings.push(`waiver for unknown check id ${w.id} (typo?) has no effect`);
  return buildReport({
    results,
    configPath,
    deployment,
    barycenter: {
      config_path: barycenter.configPath,
      issuer: barycenter.issuer,
      public_url: publicUrl({ config, barycenter }),
    },
    warnExitNonzero: config.checks.warn_exit_nonzero,
    warnings,
    now,
  });
}
