// The drill's config step: Barycenter's own start-up checks on the restored settings, without the
// drill's overrides. Each broken config below is one the real service refuses (or, for WebFinger,
// starts without what it names) while the scratch instance, with the overrides, boots: the drill
// fails at config, names the setting, and boot still passes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { buildById } from '../src/barycenter/builds.js';
import {
  onboardingUrlProblem,
  publicBaseUrlProblem,
  socketAddrProblem,
  startupProblems,
  type StartupInputs,
} from '../src/barycenter/startup-checks.js';
import { DEFAULTS } from '../src/config/barycenter.js';
import { drillRecordSchema, STEP_NAMES } from '../src/repository/drill-record.js';
import { assertAllPass, assertNoSecret, drillSetup, step, type DrillSetup } from './drill-fixtures.js';

/** Rewrites production's Barycenter config (the running instance keeps the one it started with). */
async function editConfig(s: DrillSetup, edit: (text: string) => string): Promise<() => Promise<void>> {
  const original = await readFile(s.d.configPath, 'utf8');
  await writeFile(s.d.configPath, edit(original));
  return () => writeFile(s.d.configPath, original);
}

/** Backs up, drills, and checks the drill failed at config naming `setting`, with boot passing. */
async function failsAtConfig(s: DrillSetup, setting: string, reason: RegExp) {
  await s.backup();
  const { result, text } = await s.drill();
  const config = step(result, 'config');
  assert.equal(config.verdict, 'fail', config.detail);
  assert.match(config.detail, new RegExp(`${setting.replace(/\./g, '\\.')}: `));
  assert.match(config.detail, reason);
  const problems = (config.evidence?.problems ?? []) as { setting: string }[];
  assert.ok(
    problems.some((p) => p.setting === setting),
    `evidence names ${setting}: ${JSON.stringify(problems)}`,
  );
  assert.equal(step(result, 'boot').verdict, 'pass', 'the scratch instance itself boots');
  assert.equal(step(result, 'token').verdict, 'pass');
  assert.equal(result.verdict, 'fail');
  assert.equal(result.exit_code, 3);
  assert.match(text, /config/);
  return result;
}

describe('the config step on 8218d6f snapshots', () => {
  test('a snapshot whose config starts production passes config (and every other step)', async () => {
    const s = await drillSetup();
    try {
      await s.backup();
      const { result } = await s.drill();
      assertAllPass(result);
      const config = step(result, 'config');
      assert.match(config.detail, /pass Barycenter 8218d6f's start-up checks without the drill's overrides/);
      assert.deepEqual(config.evidence?.checked, [
        'server.host:port is a socket address',
        'server.public_base_url is a URL with a DNS host',
      ]);
    } finally {
      await s.close();
    }
  });

  test('public_base_url missing, an IP address, or an unparsable host fails config; boot passes', async () => {
    const s = await drillSetup();
    try {
      let undo = await editConfig(s, (t) => t.replace(/public_base_url = .*\n/, ''));
      await failsAtConfig(s, 'server.public_base_url', /is not set: the issuer falls back to .*WebAuthn/);
      await undo();

      undo = await editConfig(s, (t) =>
        t.replace(/public_base_url = "http:\/\/localhost:/, 'public_base_url = "http://127.0.0.1:'),
      );
      await failsAtConfig(s, 'server.public_base_url', /has an IP address as its host: WebAuthn needs a DNS host/);
      await undo();

      undo = await editConfig(s, (t) => t.replace('host = "127.0.0.1"', 'host = "localhost"'));
      await failsAtConfig(s, 'server.host', /"localhost:\d+" is not a socket address .*bad listen addr/);
      await undo();

      undo = await editConfig(s, (t) => t.replace('host = "127.0.0.1"', 'host = "::1"'));
      await failsAtConfig(s, 'server.host', /an IPv6 address must be bracketed: host = "\[::1\]"/);
      await undo();
    } finally {
      await s.close();
    }
  });

  test('authz.enabled without policies fails config; with a policy file it is backed up unlisted and passes', async () => {
    const s = await drillSetup();
    try {
      await editConfig(s, (t) => `${t}\n[authz]\nenabled = true\n`);
      const policies = path.join(s.d.workdir, 'policies');
      await failsAtConfig(
        s,
        'authz.policies_dir',
        new RegExp(`authz\\.enabled is true but the snapshot holds no policy \\(\\*\\.kdl\\) from ${policies}`),
      );

      await mkdir(policies);
      await writeFile(path.join(policies, 'main.kdl'), 'namespace "doc" {\n  relation "viewer"\n}\n');
      const b = await s.backup();
      const extra = b.manifest.artifacts.find((a) => a.kind === 'extra');
      assert.equal(extra?.source, path.join(policies, 'main.kdl'), 'barycenter.extra_files does not list it');
      const { result } = await s.drill();
      assertAllPass(result);
      assert.ok(
        (step(result, 'config').evidence?.checked as string[]).includes('authz.policies_dir is in the snapshot'),
      );
    } finally {
      await s.close();
    }
  });

  test('webfinger.enabled with a token file the snapshot does not hold fails config', async () => {
    const s = await drillSetup();
    try {
      await editConfig(
        s,
        (t) =>
          `${t}\n[webfinger]\nenabled = true\nbase_url = "https://wf.example.org"\nservice_token_file = "secrets/wf.token"\n`,
      );
      await failsAtConfig(
        s,
        'webfinger.service_token_file',
        new RegExp(`does not hold ${path.join(s.d.workdir, 'secrets/wf.token')}`),
      );
    } finally {
      await s.close();
    }
  });
});

describe('the config step with build-specific rules', () => {
  test('beta.14: an onboarding token file that was not backed up fails config; a backed-up one passes and never shows', async () => {
    const s = await drillSetup({ build: 'beta.14' });
    try {
      const tokenFile = path.join(s.d.workdir, 'secrets/onboarding.token');
      const unit = path.join(s.d.dir.path, 'barycenter.service');
      await writeFile(
        unit,
        `[Service]\nWorkingDirectory=${s.d.workdir}\nEnvironment=BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE=${tokenFile}\n`,
      );
      await writeFile(
        s.setup.configPath,
        (await readFile(s.setup.configPath, 'utf8')) + `\n[checks]\nsystemd_unit = "${unit}"\n`,
      );
      s.config = (await loadConfig(s.setup.configPath)).config;
      const withUnit: DrillSetup = {
        ...s,
        backup: async () => {
          const { runBackup } = await import('../src/backup/pipeline.js');
          const { openStorage } = await import('../src/repository/open-storage.js');
          const { logger } = await import('./drill-fixtures.js');
          return runBackup(s.config, { logger, storage: openStorage(s.config.repository) });
        },
        drill: (c = s.config, o) => s.drill(c, o),
      };

      const b = await withUnit.backup();
      assert.match(
        b.manifest.warnings.join('\n'),
        /onboarding\.token \(named by BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE\) does not exist/,
      );
      await failsAtConfig(
        withUnit,
        'BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE',
        new RegExp(`names ${tokenFile}, which the snapshot does not hold`),
      );

      await mkdir(path.dirname(tokenFile), { recursive: true });
      await writeFile(tokenFile, 'short-token\n', { mode: 0o600 });
      await failsAtConfig(withUnit, 'BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE', /holds 11 characters, fewer than the 32/);

      const token = 'onboarding-0123456789abcdefghijklmnopqrstuvwxyz';
      await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
      await withUnit.backup();
      const drilled = await withUnit.drill();
      assertAllPass(drilled.result);
      assert.ok(
        (step(drilled.result, 'config').evidence?.checked as string[]).includes(
          'BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE is in the snapshot',
        ),
      );
      assertNoSecret([drilled.text, drilled.json, drilled.record], [token]);
      await rm(tokenFile);
    } finally {
      await s.close();
    }
  });

  test('beta.5: a [federation] table without trust_anchors fails config; the scratch copy boots', async () => {
    const s = await drillSetup({ build: 'beta.5' });
    try {
      await editConfig(s, (t) => `${t}\n[federation]\nenabled = false\n`);
      await failsAtConfig(s, 'federation.trust_anchors', /without trust_anchors, which beta\.5 requires there/);
      await editConfig(s, (t) => `${t}trust_anchors = []\n`);
      await s.backup();
      assertAllPass((await s.drill()).result);
    } finally {
      await s.close();
    }
  });
});

describe('start-up rules (no process)', () => {
  test('server.host:port as Rust parses a SocketAddr', () => {
    for (const ok of ['0.0.0.0', '127.0.0.1', '[::]', '[::1]', '[2001:db8::1]'])
      assert.equal(socketAddrProblem(ok, 8080), undefined, ok);
    for (const [bad, why] of [
      ['localhost', /must be an IP address/],
      ['::', /must be bracketed: host = "\[::\]"/],
      ['127.0.0.01', /must be an IP address/],
      ['127.1', /must be an IP address/],
      ['[fe80::1%eth0]', /zone index/],
      ['[not-v6]', /not-v6 is not an IPv6 address/],
    ] as const)
      assert.match(socketAddrProblem(bad, 8080)?.reason ?? 'accepted', why, bad);
  });

  test('public_base_url needs a DNS host', () => {
    assert.equal(publicBaseUrlProblem('https://idp.example.org/'), undefined);
    assert.equal(publicBaseUrlProblem('http://localhost:8080'), undefined);
    assert.match(publicBaseUrlProblem(undefined)!.reason, /is not set/);
    assert.match(publicBaseUrlProblem('')!.reason, /is empty/);
    assert.match(publicBaseUrlProblem('idp.example.org')!.reason, /is not a URL/);
    assert.match(publicBaseUrlProblem('https://10.0.0.5')!.reason, /IP address as its host/);
    assert.match(publicBaseUrlProblem('http://[::1]:8080')!.reason, /IP address as its host/);
  });

  test('onboarding_app_url: https, http only on loopback, no credentials, no fragment', () => {
    for (const ok of ['https://app.example.org/onboard', 'http://localhost:3000', 'http://127.0.0.1/', 'http://[::1]/'])
      assert.equal(onboardingUrlProblem(ok), undefined, ok);
    for (const [bad, why] of [
      ['http://app.example.org', /must be https/],
      ['https://user:pw@app.example.org', /holds credentials/],
      ['https://app.example.org/#x', /has a fragment/],
      ['app', /is not a URL/],
    ] as const)
      assert.match(onboardingUrlProblem(bad)?.reason ?? 'accepted', why, bad);
    assert.doesNotMatch(onboardingUrlProblem('https://user:s3cret-pw@app.example.org')!.reason, /s3cret-pw/);
  });

  test('rules follow the build: onboarding_app_url only on beta.14, trust_anchors only on beta.5', () => {
    const input = (over: Partial<StartupInputs> = {}): StartupInputs => ({
      settings: {
        ...structuredClone(DEFAULTS),
        server: {
          ...DEFAULTS.server,
          host: '127.0.0.1',
          public_base_url: 'https://idp.example.org',
          onboarding_app_url: 'http://app.example.org',
        },
      },
      workdir: '/var/lib/barycenter',
      env: {},
      sections: new Set(['server', 'federation']),
      fileKeys: new Set(['server.host']),
      files: [],
      read: () => undefined,
      ...over,
    });
    const settings = (b: 'beta.5' | '8218d6f' | 'beta.14') =>
      startupProblems(buildById(b), input()).problems.map((p) => p.setting);
    assert.deepEqual(settings('beta.14'), ['server.onboarding_app_url']);
    assert.deepEqual(settings('8218d6f'), []);
    assert.deepEqual(settings('beta.5'), ['federation.trust_anchors']);
  });

  test('drill records from before the config step still parse', () => {
    assert.ok(STEP_NAMES.includes('config'));
    const older = {
      format: 'barysafe.drill/v1',
      id: '20261101T000000Z-abcdef',
      snapshot_id: '20261101T000000Z-123456',
      snapshot_sha256: 'a'.repeat(64),
      started_at: '2026-11-01T00:00:00.000Z',
      finished_at: '2026-11-01T00:00:05.000Z',
      verdict: 'pass',
      steps: ['integrity', 'key', 'database', 'boot', 'discovery', 'jwks', 'token', 'teardown'].map((name) => ({
        name,
        verdict: 'pass',
        duration_ms: 1,
        detail: 'ok',
      })),
      rto_ms: 5000,
      rpo_ms: 60000,
      host: 'idp-1',
      tool: { name: 'barysafe', version: '0.1.0' },
    };
    const r = drillRecordSchema.safeParse(older);
    assert.ok(r.success, JSON.stringify(r.error?.issues));
  });
});
