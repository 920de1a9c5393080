import type { CheckContext } from '../types.js';

/** Where a Barycenter setting came from, as an evidence source. */
export function settingSource(ctx: CheckContext, dotted: string): string {
  const src = ctx.barycenter.sources[dotted] ?? 'default';
  const where =
    src === 'file'
      ? ctx.barycenter.configPath
      : src === 'env_file'
        ? ctx.barycenter.envFile
        : src === 'env'
          ? 'environment of barysafe'
          : 'Barycenter default';
  return `setting ${dotted} (${src}: ${where})`;
}
