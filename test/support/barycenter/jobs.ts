// The six background jobs; only triggerJob runs them (upstream's cron never fires at startup either).
import type { Db } from './db.js';
import { error, info } from './log.js';
import { nowSecs } from './ids.js';

const TARGET = 'barycenter::jobs';

export const AVAILABLE_JOBS = [
  { name: 'cleanup_expired_sessions', description: 'Clean up expired user sessions', schedule: 'Hourly at :00' },
  { name: 'cleanup_expired_refresh_tokens', description: 'Clean up expired refresh tokens', schedule: 'Hourly at :30' },
  {
    name: 'cleanup_expired_challenges',
    description: 'Clean up expired WebAuthn challenges',
    schedule: 'Every 5 minutes',
  },
  {
    name: 'cleanup_expired_device_codes',
    description: 'Clean up expired device authorization codes',
    schedule: 'Hourly at :45',
  },
  {
    name: 'cleanup_expired_federation_requests',
    description: 'Clean up expired federation auth requests',
    schedule: 'Every 5 minutes',
  },
  {
    name: 'refresh_peer_discovery',
    description: 'Re-verify active trusted peers and refresh discovery endpoints',
    schedule: 'Daily at 03:00',
  },
];

// federation_auth_requests.expires_at is ISO-8601 text, compared as text like upstream.
const CLEANUPS: Record<string, (db: Db) => Promise<number>> = {
  cleanup_expired_sessions: async (db) =>
    (await db.run('DELETE FROM sessions WHERE expires_at < ?', [nowSecs()])).changes,
  cleanup_expired_refresh_tokens: async (db) =>
    (await db.run('DELETE FROM refresh_tokens WHERE expires_at < ?', [nowSecs()])).changes,
  cleanup_expired_challenges: async (db) =>
    (await db.run('DELETE FROM webauthn_challenges WHERE expires_at < ?', [nowSecs()])).changes,
  cleanup_expired_device_codes: async (db) =>
    (await db.run('DELETE FROM device_codes WHERE expires_at < ?', [nowSecs()])).changes,
  cleanup_expired_federation_requests: async (db) =>
    (
      await db.run('DELETE FROM federation_auth_requests WHERE expires_at < ?', [
        new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ])
    ).changes,
};

async function startExecution(db: Db, name: string): Promise<number> {
  const started = nowSecs();
  if (db.backend === 'postgres') {
    const r = await db.get('INSERT INTO job_executions (job_name, started_at) VALUES (?, ?) RETURNING id', [
      name,
      started,
    ]);
    return Number(r!.id);
  }
  await db.run('INSERT INTO job_executions (job_name, started_at) VALUES (?, ?)', [name, started]);
  return Number((await db.get('SELECT last_insert_rowid() AS id'))!.id);
}

async function completeExecution(db: Db, id: number, success: boolean, err: string | null, records: number | null) {
  await db.run(
    'UPDATE job_executions SET completed_at = ?, success = ?, error_message = ?, records_processed = ? WHERE id = ?',
    [nowSecs(), success ? 1 : 0, err, records, id],
  );
}

/** Runs a job synchronously. The row is written before the name is checked, so unknown names leave NULL success. */
export async function triggerJob(db: Db, name: string): Promise<void> {
  info(TARGET, `Manually triggering job: ${name}`);
  const id = await startExecution(db, name);
  const cleanup = CLEANUPS[name];
  if (cleanup) {
    try {
      const n = await cleanup(db);
      info(TARGET, `Manually triggered job ${name} completed: ${n} records`);
      await completeExecution(db, id, true, null, n);
    } catch (e) {
      error(TARGET, `Manually triggered job ${name} failed: ${(e as Error).message}`);
      await completeExecution(db, id, false, (e as Error).message, null);
    }
    return;
  }
  if (name === 'refresh_peer_discovery') {
    // Peer re-verification needs network access to peers; the stand-in has none, so an active peer
    // counts as an error, matching what an unreachable peer does upstream.
    const peers = await db.all("SELECT id FROM trusted_peers WHERE status = 'active'");
    const errors = peers.length;
    info(TARGET, `Manually triggered refresh_peer_discovery: 0 refreshed, ${errors} errors`);
    await completeExecution(db, id, errors === 0, errors > 0 ? `${errors} peers failed to refresh` : null, errors);
    return;
  }
  throw new Error(`Unknown job name: ${name}`);
}
