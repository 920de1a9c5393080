import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { errorText } from '../../errors.js';
import { buildForRules, schemaBuild } from '../../barycenter/builds.js';
import { startupProblems, type StartupInputs } from '../../barycenter/startup-checks.js';
import type { RestoredInput } from '../context.js';
import { restoredServiceEnv, restoredSettings } from '../restored-settings.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

/**
 * Would production start from what the snapshot holds? The drill's overrides (loopback host,
 * scratch issuer, features off) let the scratch instance boot from settings the real service
 * refuses, so this step replays Barycenter's own start-up checks on the restored settings as
 * production has them: the restored config file and the deployment's environment, none of the
 * drill's overrides, with the rules of the build that wrote the database.
 */
export async function configStep(input: RestoredInput): Promise<StepOutcome> {
  const { restored, entry } = input;
  const manifest = entry.manifest;
  // From the recorded migration rows, not the recorded verdict: this barysafe may know more builds.
  const { build, why } = buildForRules(schemaBuild(manifest.database.migrations));
  const evidence: Record<string, unknown> = { build: build.id, build_reason: why };
  let settings: StartupInputs['settings'];
  let toml: Record<string, unknown> = {};
  try {
    settings = restoredSettings(restored).settings;
    if (restored.configRestored && existsSync(restored.layout.configPath))
      toml = parseToml(readFileSync(restored.layout.configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    return fail(`the restored settings do not load, so production would not start: ${errorText(e)}`, evidence);
  }
  const env = restoredServiceEnv(restored);
  const { sections, fileKeys } = settingsShape(toml, env);
  // Production path → restored file, for the files the settings name (policies, token files).
  const extras = new Map(Object.entries(restored.extras).map(([source, dest]) => [path.resolve(source), dest]));
  const report = startupProblems(build, {
    settings,
    workdir: manifest.barycenter.workdir,
    env,
    sections,
    fileKeys,
    files: [...extras.keys()],
    read: (file) => {
      const dest = extras.get(file);
      return dest === undefined ? undefined : readFileSync(dest, 'utf8');
    },
  });
  evidence.checked = report.checked;
  if (report.problems.length) {
    evidence.problems = report.problems;
    return fail(
      `production would not start from this snapshot (${build.id} rules): ${report.problems.map((p) => `${p.setting}: ${p.reason}`).join('; ')}`,
      evidence,
    );
  }
  return pass(
    `the restored settings pass Barycenter ${build.id}'s start-up checks without the drill's overrides (${report.checked.length} checked)`,
    evidence,
  );
}

/** Which sections the settings create and which keys the file sets (lower-cased, as config-rs reads them). */
function settingsShape(
  toml: Record<string, unknown>,
  env: Record<string, string>,
): { sections: Set<string>; fileKeys: Set<string> } {
  const sections = new Set<string>();
  const fileKeys = new Set<string>();
  for (const [section, body] of Object.entries(toml)) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) continue;
    sections.add(section.toLowerCase());
    for (const key of Object.keys(body)) fileKeys.add(`${section.toLowerCase()}.${key.toLowerCase()}`);
  }
  for (const name of Object.keys(env)) {
    const m = /^BARYCENTER__([A-Za-z0-9_]+?)__[A-Za-z0-9_]+$/i.exec(name);
    if (m) sections.add(m[1]!.toLowerCase());
  }
  return { sections, fileKeys };
}
