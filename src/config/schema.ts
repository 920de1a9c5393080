import { isDuration } from '../units.js';
import * as z from 'zod';
import { parsePgCompress } from '../platform/pg-compress.js';
import { canonicalRepositoryUrl } from './repository-url.js';

/**
 * barysafe.toml. Unknown keys are rejected (a typo must not silently disable a setting, the way
 * Barycenter's own loader does). Durations are strings such as "26h", "7d", "90m".
 */
const duration = z.string().refine(isDuration, 'a duration such as "90m", "26h" or "7d"');
/** A --keep-* count: a number of buckets, or -1 for "all of them" (as restic's). */
const keepCount = z.number().int().min(-1);
/**
 * Where barysafe keeps its local state unless `[state] dir` says otherwise. $BARYSAFE_STATE_DIR
 * replaces the default (the test harness points it at a throwaway directory).
 */
export const DEFAULT_STATE_DIR = process.env.BARYSAFE_STATE_DIR || '/var/lib/barysafe';

/** The jobs the agent knows (src/agent/jobs.ts). */
export const JOB_NAMES = ['backup', 'verify', 'drill', 'check', 'forget'] as const;
const jobName = z.enum(JOB_NAMES);

/** 5 cron fields (minute first) or 6 (seconds first); the agent parses them with croner. */
const cronExpression = z
  .string()
  .refine((s) => [5, 6].includes(s.trim().split(/\s+/).length), 'a cron expression of 5 or 6 fields, e.g. "0 2 * * *"');

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .object({
    barycenter: z
      .object({
        /** Barycenter's own config file (config.toml). May be absent on disk: Barycenter then runs on defaults + env. */
        config: z.string().min(1),
        /** Barycenter's working directory: relative paths in its config resolve here. */
        workdir: z.string().min(1),
        /** Optional KEY=VALUE file the service runs with (BARYCENTER__*, RUST_LOG). */
        env_file: z.string().min(1).optional(),
        /** The externally visible URL of production (its JWKS is checked by drills). Defaults to server.public_base_url. */
        public_url: z.string().url().optional(),
        /** Service user, for permission checks and restore hints. */
        service_user: z.string().optional(),
        service_group: z.string().optional(),
        /** Extra files worth keeping (users.json, webfinger token file, policies/). */
        extra_files: z.array(z.string()).default([]),
      })
      .strict(),
    repository: z
      .object({
        url: z
          .string()
          .transform(canonicalRepositoryUrl)
          .pipe(z.string().regex(/^(file|s3):\/\//, 'a file:// or s3:// URL')),
        endpoint: z.string().url().optional(),
        region: z.string().optional(),
        force_path_style: z.boolean().optional(),
        /**
         * Flexible checksums: S3-compatible stores store aws-chunked framing verbatim (s3rver, older
         * MinIO/Ceph) or reject the SDK's checksum headers (R2, B2). Default: "when_required" with
         * a custom endpoint, "when_supported" on AWS.
         */
        checksum: z.enum(['when_supported', 'when_required']).optional(),
        part_size_mib: z.number().int().min(5).max(1024).default(8),
        queue_size: z.number().int().min(1).max(16).default(4),
        /** S3 Object Lock retention set on every object barysafe writes (the bucket must have Object Lock on). */
        object_lock: z
          .object({
            mode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
            days: z.number().int().min(1).max(36500),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((r) => !r.object_lock || r.url.startsWith('s3://'), {
        message: 'object_lock needs an s3:// repository (a file:// directory has no Object Lock)',
        path: ['object_lock'],
      }),
    encryption: z
      .object({
        recipients: z.array(z.string()).min(1, 'at least one age recipient (age1…) is required'),
        identity_file: z.string().optional(),
        signing_key_file: z.string().optional(),
        /** Ed25519 public key (SPKI PEM file) to verify manifests where the signing key is not present. */
        verify_key: z.string().optional(),
      })
      .strict(),
    backup: z
      .object({
        /** PostgreSQL client binaries (pg_dump, pg_restore); default: PATH. */
        pg_bin_dir: z.string().optional(),
        /** pg_dump's compression: "default", "none", a gzip level 0-9, "gzip:N", "lz4[:N]", "zstd[:N]" (the last two need pg_dump 16+). */
        pg_compress: z
          .union([z.number(), z.string()])
          .refine((v) => parsePgCompress(v) !== undefined, {
            message: '"default", "none", a gzip level 0-9, "gzip:N" (1-9), "lz4[:N]" (1-12) or "zstd[:N]" (1-22)',
          })
          .default('default'),
        temp_dir: z.string().optional(),
      })
      .strict()
      .default({ pg_compress: 'default' }),
    drill: z
      .object({
        barycenter_bin: z.string().optional(),
        image: z.string().optional(),
        command: z.string().optional(),
        postgres_url: z.string().optional(),
        pg_bin_dir: z.string().optional(),
        rto_target: duration.optional(),
        rpo_target: duration.optional(),
        boot_timeout: duration.default('60s'),
        /** Time allowed to pull a missing drill.image, before the drill's clock starts. */
        pull_timeout: duration.default('10m'),
        /** Mount the scratch directory with :Z (SELinux hosts: a private label the container may read). */
        selinux_relabel: z.boolean().default(false),
      })
      .strict()
      .default({ boot_timeout: '60s', pull_timeout: '10m', selinux_relabel: false }),
    checks: z
      .object({
        deployment: z.enum(['systemd', 'docker', 'kubernetes', 'freebsd', 'illumos', 'plain']).optional(),
        rpo: duration.default('26h'),
        drill_max_age: duration.default('30d'),
        disk_free_min_percent: z.number().min(0).max(100).default(15),
        cert_min_days: z.number().int().min(0).default(21),
        job_window: duration.default('24h'),
        warn_exit_nonzero: z.boolean().default(false),
        pid_file: z.string().optional(),
        systemd_unit: z.string().optional(),
        docker_inspect: z.string().optional(),
        /** A Compose file to judge instead of `docker inspect` (before deploying, or without an engine). */
        compose_file: z.string().optional(),
        /** The service of compose_file that runs Barycenter (default "barycenter"). */
        compose_service: z.string().optional(),
        kubernetes_manifests: z.array(z.string()).default([]),
        /** The container the checks judge when neither its name nor its image says barycenter. */
        kubernetes_container: z.string().optional(),
        replicas: z.number().int().min(1).optional(),
        waivers: z
          .array(
            z
              .object({ id: z.string(), reason: z.string().min(1), expires: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({
        rpo: '26h',
        drill_max_age: '30d',
        disk_free_min_percent: 15,
        cert_min_days: 21,
        job_window: '24h',
        warn_exit_nonzero: false,
        kubernetes_manifests: [],
        waivers: [],
      }),
    /** barysafe's own local state (the `verify --read-data-subset auto/t` cursor). */
    state: z
      .object({ dir: z.string().min(1).default(DEFAULT_STATE_DIR) })
      .strict()
      .default({ dir: DEFAULT_STATE_DIR }),
    /** `barysafe forget` defaults (restic's --keep-* semantics); no keep rule means nothing is removed. */
    retention: z
      .object({
        keep_within: duration.optional(),
        keep_last: keepCount.optional(),
        keep_daily: keepCount.optional(),
        keep_weekly: keepCount.optional(),
        keep_monthly: keepCount.optional(),
        keep_yearly: keepCount.optional(),
        /** Snapshots a drill record cites are kept while the drill is younger than this many days. */
        evidence_days: z.number().int().min(0).default(400),
      })
      .strict()
      .default({ evidence_days: 400 }),
    keys: z
      .object({
        /** `backup.key-age` warns when the signing key in use is older than this. */
        max_age: duration.default('365d'),
      })
      .strict()
      .default({ max_age: '365d' }),
    /** When the agent runs each job: cron expressions (5 fields, or 6 with seconds first). */
    schedule: z
      .object({
        backup: cronExpression.optional(),
        verify: cronExpression.optional(),
        /** Passed to the scheduled verify: "n/t" or "auto/t" reads every object once per t runs. */
        read_data_subset: z
          .string()
          .regex(/^(auto|\d+)\/\d+$/, '"auto/t" (the next slice each run) or "n/t", e.g. "auto/7"')
          .optional(),
        drill: cronExpression.optional(),
        check: cronExpression.optional(),
        forget: cronExpression.optional(),
        /** IANA time zone the expressions are read in. */
        timezone: z.string().refine(validTimeZone, 'an IANA time zone such as "UTC" or "Europe/Berlin"').default('UTC'),
        /** Each run starts up to this much later than its slot (spreads many hosts over the repository). */
        jitter: duration.default('0s'),
        /** A job whose last success is older than its period runs when the agent starts. */
        run_missed: z.boolean().default(true),
      })
      .strict()
      .default({ timezone: 'UTC', jitter: '0s', run_missed: true }),
    agent: z
      .object({
        /** host:port of /metrics, /healthz and the status page; unset: no listener. */
        listen: z
          .string()
          .regex(/^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/i, 'host:port, e.g. "127.0.0.1:9752"')
          .optional(),
        /** node_exporter textfile collector directory: barysafe.prom is written there by atomic rename. */
        textfile_dir: z.string().min(1).optional(),
        /** On SIGTERM a running job may finish within this long; then it is aborted. */
        stop_timeout: duration.default('60s'),
      })
      .strict()
      .default({ stop_timeout: '60s' }),
    notify: z
      .object({
        /** Healthchecks ping URL; "{job}" is replaced by the job name (slug URLs: one check per job). */
        healthchecks_url: z.string().url().optional(),
        /** Jobs that ping; default: every scheduled job when the URL has {job}, else backup only. */
        healthchecks_jobs: z.array(jobName).optional(),
        /** POSTed a JSON document on failure, recovery and staleness. */
        webhook_url: z.string().url().optional(),
        /** File holding the HMAC-SHA256 key that signs webhook bodies (X-Barysafe-Signature). */
        webhook_secret_file: z.string().min(1).optional(),
        email_to: z.array(z.string().email()).default([]),
        email_from: z.string().email().optional(),
        /** smtp://host:port (STARTTLS when offered) or smtps://host:port; no credentials in it. */
        smtp_url: z
          .string()
          .regex(/^smtps?:\/\/[^/@\s]+$/, 'smtp://host:port or smtps://host:port, without credentials')
          .optional(),
        smtp_user: z.string().min(1).optional(),
        smtp_password_file: z.string().min(1).optional(),
        /** Refuse to send without TLS; default: required when smtp_user is set. */
        smtp_require_tls: z.boolean().optional(),
        /** A job is stale when its last success is older than this many expected intervals. */
        stale_factor: z.number().min(1).default(2),
        timeout: duration.default('10s'),
      })
      .strict()
      .superRefine((n, ctx) => {
        if (n.email_to.length && (!n.smtp_url || !n.email_from))
          ctx.addIssue({ code: 'custom', message: 'email_to needs smtp_url and email_from' });
        if (n.smtp_user && !n.smtp_password_file)
          ctx.addIssue({ code: 'custom', message: 'smtp_user needs smtp_password_file' });
      })
      .default({ email_to: [], stale_factor: 2, timeout: '10s' }),
  })
  .strict();

/** The state directory (anchors, the verify cursor): [state] dir, else the default. */
export function stateDir(config: BarysafeConfig): string {
  return config.state.dir;
}

export type BarysafeConfig = z.infer<typeof configSchema>;

/** The key that verifies manifests and records: encryption.verify_key, else the signing key's public half. */
export function verifyKeyFile(config: BarysafeConfig): string | undefined {
  return config.encryption.verify_key ?? config.encryption.signing_key_file;
}
