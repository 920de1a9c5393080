import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { BarysafeError, ExitCode, errorText } from '../errors.js';
import { euid, foreignWritableAncestor, modeText, writeFileReplacing } from '../platform/safe-fs.js';

/**
 * The host's local anchor of a repository: the newest snapshot this host has seen verified there
 * (id, manifest sha256, signed sequence), kept outside the repository, where someone who can write
 * the bucket cannot rewrite it. A repository rolled back — newest snapshots deleted, an old
 * repository put back in place, its id removed — no longer reaches the anchor, and restore, drills
 * and check say so. Anchors are keyed by the random id the first backup records in the repository
 * (two repositories never share one); the URL is kept too, so a URL whose id changed or vanished
 * is itself reported.
 *
 * The state directory (`[state] dir`, default /var/lib/barysafe) must be ours (root's) and
 * writable by nobody else: an anchor another user could edit proves nothing.
 */
const anchorSchema = z.object({
  format: z.literal('barysafe.anchor/v1'),
  repository_id: z.string().regex(/^[0-9a-f]{32}$/),
  repository_url: z.string(),
  snapshot: z.object({ id: z.string(), sha256: z.string(), sequence: z.number().int().nullable() }),
  updated_at: z.string(),
});
export type Anchor = z.infer<typeof anchorSchema>;

export function newRepositoryId(): string {
  return randomBytes(16).toString('hex');
}

export class AnchorStore {
  constructor(readonly dir: string) {}

  private get anchorsDir(): string {
    return path.join(this.dir, 'anchors');
  }

  private fileOf(repositoryId: string): string {
    if (!/^[0-9a-f]{32}$/.test(repositoryId)) throw new Error(`invalid repository id ${repositoryId}`);
    return path.join(this.anchorsDir, `${repositoryId}.json`);
  }

  /** The anchor of a repository id, or undefined when this host has none. */
  async forRepository(repositoryId: string): Promise<Anchor | undefined> {
    return this.read(this.fileOf(repositoryId));
  }

  /** The anchor recorded for a repository URL (whatever id it had then), or undefined. */
  async forUrl(url: string): Promise<Anchor | undefined> {
    let names: string[];
    try {
      names = await readdir(this.anchorsDir);
    } catch {
      return undefined;
    }
    // The state directory is checked once, then the anchors are read together (each still has its
    // owner and mode checked): one trust check per anchor made every command pay per repository
    // this host ever knew.
    const files = names.filter((x) => /^[0-9a-f]{32}\.json$/.test(x)).sort();
    if (files.length) await this.checkTrusted(false);
    const anchors = await Promise.all(files.map((n) => this.read(path.join(this.anchorsDir, n), false)));
    let found: Anchor | undefined;
    for (const a of anchors) if (a?.repository_url === url && (!found || a.updated_at > found.updated_at)) found = a;
    return found;
  }

  async save(a: Omit<Anchor, 'format' | 'updated_at'>): Promise<void> {
    await this.checkTrusted(true);
    const doc: Anchor = { format: 'barysafe.anchor/v1', ...a, updated_at: new Date().toISOString() };
    await writeFileReplacing(this.fileOf(a.repository_id), JSON.stringify(doc, null, 2) + '\n', 0o600);
  }

  private async read(file: string, checkDir = true): Promise<Anchor | undefined> {
    let text: string;
    try {
      if (checkDir) await this.checkTrusted(false);
      const st = await stat(file);
      this.checkOwner(file, st);
      text = await readFile(file, 'utf8');
    } catch (e) {
      if (e instanceof BarysafeError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw this.error(`cannot read the anchor ${file}: ${errorText(e)}`);
    }
    try {
      return anchorSchema.parse(JSON.parse(text));
    } catch (e) {
      throw this.error(`the anchor ${file} is damaged: ${errorText(e).split('\n')[0]}`);
    }
  }

  /** The state directory exists (or, when `create`, is made 0700) and nobody but us and root can change it. */
  private async checkTrusted(create: boolean): Promise<void> {
    if (create) mkdirSync(this.anchorsDir, { recursive: true, mode: 0o700 });
    for (const d of [this.dir, this.anchorsDir]) {
      let st;
      try {
        st = await stat(d);
      } catch (e) {
        if (!create && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      this.checkOwner(d, st);
    }
    const unsafe = await foreignWritableAncestor(this.dir);
    if (unsafe) throw this.error(`the state directory ${this.dir} can be changed by another user: ${unsafe}`);
  }

  private checkOwner(p: string, st: { uid: number; mode: number }): void {
    if (st.uid !== euid() && st.uid !== 0)
      throw this.error(`${p} belongs to uid ${st.uid}, not to this user or root; its anchors prove nothing`);
    if (st.mode & 0o022)
      throw this.error(`${p} is writable by others (mode ${modeText(st.mode)}); its anchors prove nothing`);
  }

  private error(message: string): BarysafeError {
    return new BarysafeError('anchor', message, {
      exitCode: ExitCode.USAGE,
      hint: 'the state directory ([state] dir, default /var/lib/barysafe) must be 0700 and owned by the user barysafe runs as (root)',
    });
  }
}
