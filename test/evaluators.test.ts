// The pure evaluators, as tables: no root, no services, no files. Each row is an input and what
// the evaluator must make of it; the real-service tests beside these show the same code at work.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { formatBytes, isDuration, parseDuration, parseSize } from '../src/units.js';
import { readAtMost } from '../src/platform/bounded-read.js';
import { addressScope, reachableHost, urlHost } from '../src/platform/net.js';
import { rustLogLevels } from '../src/checks/logging.js';
import { restrictedViolations } from '../src/checks/container.js';
import { classifyRedirectUri } from '../src/checks/clients.js';
import { parseMountinfo } from '../src/checks/evidence/filesystem.js';
import { Findings } from '../src/checks/evidence/combine.js';
import { exitCodeFor, summarize } from '../src/checks/report.js';
import type { PodSpec } from '../src/checks/evidence/kubernetes.js';
import type { CheckResult, CheckStatus } from '../src/checks/types.js';
import { BarysafeError, ExitCode } from '../src/errors.js';

describe('durations and sizes', () => {
  const durations: Array<[string, number]> = [
    ['30s', 30_000],
    ['90m', 5_400_000],
    ['26h', 93_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['1.5h', 5_400_000],
    [' 7 d ', 604_800_000],
  ];
  for (const [text, ms] of durations) test(`"${text}" is ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  for (const bad of ['', '7', 'd', '7days', '-1d', '1y', '7D', '1e3s'])
    test(`"${bad}" is not a duration, with a usage error that says how to write one`, () => {
      assert.equal(isDuration(bad), false);
      assert.throws(
        () => parseDuration(bad),
        (e: unknown) =>
          e instanceof BarysafeError && e.exitCode === ExitCode.USAGE && /"90m", "26h", "7d"/.test(e.hint!),
      );
    });
  const sizes: Array<[string, number]> = [
    ['0', 0],
    ['512', 512],
    ['500MB', 500e6],
    ['2GiB', 2 ** 31],
    ['1.5GB', 1.5e9],
    ['10 kib', 10 * 1024],
    ['3t', 3e12],
  ];
  for (const [text, n] of sizes) test(`size "${text}" is ${n} bytes`, () => assert.equal(parseSize(text), n));
  for (const bad of ['', 'GiB', '2 GiBs', '-1MB', '1,5GB'])
    test(`size "${bad}" is refused`, () => assert.throws(() => parseSize(bad), /is not a size/));
  const printed: Array<[number | null, string]> = [
    [null, '—'],
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [5 * 2 ** 20, '5.0 MiB'],
    [3 * 2 ** 40, '3.0 TiB'],
    [2 ** 52, '4096.0 TiB'],
  ];
  for (const [n, s] of printed) test(`${n} bytes print as ${s}`, () => assert.equal(formatBytes(n), s));
});

describe('bounded reads', () => {
  const stream = (...parts: string[]) => Readable.from(parts.map((p) => Buffer.from(p)));
  test('under the limit: every byte, not over', async () => {
    assert.deepEqual(await readAtMost(stream('ab', 'cd'), 4), { bytes: Buffer.from('abcd'), over: false });
  });
  test('past the limit: the first max bytes, over, and the source destroyed', async () => {
    const s = stream('abc', 'def', 'ghi');
    const r = await readAtMost(s, 4);
    assert.deepEqual(r, { bytes: Buffer.from('abcd'), over: true });
    assert.equal(s.destroyed, true);
  });
  test('an empty stream is an empty buffer', async () => {
    assert.deepEqual(await readAtMost(stream(), 10), { bytes: Buffer.alloc(0), over: false });
  });
});

describe('address scope', () => {
  const rows: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['127.9.9.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'wildcard'],
    ['::', 'wildcard'],
    ['10.1.2.3', 'private'],
    ['192.168.0.10', 'private'],
    ['172.16.5.4', 'private'],
    ['169.254.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['fd00::1', 'private'],
    ['fe80::1', 'private'],
    ['8.8.8.8', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['idp.example.com', 'public'],
  ];
  for (const [a, scope] of rows) test(`${a} is ${scope}`, () => assert.equal(addressScope(a), scope));
  test('a wildcard listener is reached on loopback; IPv6 is bracketed in URLs', () => {
    assert.equal(reachableHost('0.0.0.0'), '127.0.0.1');
    assert.equal(reachableHost('::'), '::1');
    assert.equal(reachableHost('[::1]'), '::1');
    assert.equal(urlHost('::1'), '[::1]');
    assert.equal(urlHost('127.0.0.1'), '127.0.0.1');
  });
});

describe('RUST_LOG as EnvFilter reads it', () => {
  const rows: Array<[string, string[], boolean]> = [
    ['info', ['info'], true],
    ['WARN', ['warn'], true],
    ['barycenter=debug', ['debug'], true],
    ['info,tower_http=trace', ['info', 'trace'], true],
    ['barycenter', ['trace'], true],
    ['barycenter::web', ['trace'], true],
    ['', [], true],
    ['info,,warn', ['info', 'warn'], true],
    ['loud', ['trace'], true],
    ['barycenter=loud', [], false],
    ['info;debug', [], false],
  ];
  for (const [value, levels, valid] of rows)
    test(`RUST_LOG="${value}" enables [${levels.join(', ')}]${valid ? '' : ' (invalid)'}`, () =>
      assert.deepEqual(rustLogLevels(value), { levels, valid }));
});

describe('Pod Security Standards, restricted profile', () => {
  const compliant = (): PodSpec => ({
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'idp' } }],
    containers: [
      {
        name: 'barycenter',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  });
  test('a compliant pod has no violation', () => assert.deepEqual(restrictedViolations(compliant()), []));
  const c0 = (p: PodSpec) => p.containers[0]!;
  const rows: Array<[string, (p: PodSpec) => void, RegExp]> = [
    ['hostNetwork', (p) => (p.hostNetwork = true), /^hostNetwork: true$/],
    ['a hostPath volume', (p) => p.volumes!.push({ name: 'h', hostPath: { path: '/' } }), /volume h uses hostPath/],
    ['privileged', (p) => (c0(p).securityContext!.privileged = true), /barycenter: privileged/],
    [
      'privilege escalation left on',
      (p) => delete c0(p).securityContext!.allowPrivilegeEscalation,
      /allowPrivilegeEscalation is not false/,
    ],
    ['runAsNonRoot unset', (p) => delete p.securityContext!.runAsNonRoot, /runAsNonRoot is not true/],
    ['runAsUser 0', (p) => (c0(p).securityContext!.runAsUser = 0), /runAsUser 0/],
    ['seccomp Unconfined', (p) => (p.securityContext!.seccompProfile = { type: 'Unconfined' }), /seccompProfile/],
    ['capabilities not dropped', (p) => (c0(p).securityContext!.capabilities = { drop: [] }), /lacks ALL/],
    [
      'a capability added',
      (p) => (c0(p).securityContext!.capabilities = { drop: ['ALL'], add: ['CAP_SYS_ADMIN'] }),
      /capabilities.add SYS_ADMIN/,
    ],
    ['a hostPort', (p) => (c0(p).ports = [{ containerPort: 8080, hostPort: 8080 }]), /hostPort 8080/],
  ];
  for (const [what, change, expected] of rows)
    test(`${what} is a violation`, () => {
      const p = compliant();
      change(p);
      const v = restrictedViolations(p);
      assert.equal(v.length, 1, v.join('; '));
      assert.match(v[0]!, expected);
    });
  test('NET_BIND_SERVICE may be added', () => {
    const p = compliant();
    c0(p).securityContext!.capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] };
    assert.deepEqual(restrictedViolations(p), []);
  });
});

describe('redirect URIs', () => {
  const rows: Array<[string, string]> = [
    ['https://app.example.org/cb', 'ok'],
    ['http://127.0.0.1:51000/cb', 'loopback'],
    ['http://[::1]/cb', 'loopback'],
    ['http://localhost:3000/cb', 'loopback'],
    ['http://app.example.org/cb', 'fail'],
    ['https://app.example.org/cb#frag', 'fail'],
    ['/relative/cb', 'fail'],
    ['com.example.app:/oauth2redirect', 'review'],
  ];
  for (const [uri, verdict] of rows)
    test(`${uri} is ${verdict}`, () => assert.equal(classifyRedirectUri(uri).verdict, verdict));
});

describe('mountinfo', () => {
  const text = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
    '41 22 0:36 / /var/lib/bary\\040center rw,nosuid,nodev - tmpfs tmpfs rw,size=1024k',
    'garbage line without separator',
    '',
  ].join('\n');
  test('mount points (octal escapes decoded), options, type and source', () => {
    assert.deepEqual(parseMountinfo(text), [
      {
        mountPoint: '/',
        options: ['rw', 'relatime'],
        fsType: 'ext4',
        source: '/dev/sda1',
        superOptions: ['rw', 'errors=remount-ro'],
      },
      {
        mountPoint: '/var/lib/bary center',
        options: ['rw', 'nosuid', 'nodev'],
        fsType: 'tmpfs',
        source: 'tmpfs',
        superOptions: ['rw', 'size=1024k'],
      },
    ]);
  });
});

describe('verdicts', () => {
  const outcome = (...statuses: Array<'pass' | 'fail' | 'warn' | 'manual'>) => {
    const f = new Findings();
    statuses.forEach((s, i) => f.add(s, `${s} ${i}`));
    return f.outcome();
  };
  test('the worst finding decides, with the summaries of every finding that status', () => {
    assert.deepEqual(
      [
        outcome('pass'),
        outcome('pass', 'manual'),
        outcome('manual', 'warn', 'pass'),
        outcome('warn', 'fail', 'fail'),
      ].map((o) => [o.status, o.summary]),
      [
        ['pass', 'pass 0'],
        ['manual', 'manual 1'],
        ['warn', 'warn 1'],
        ['fail', 'fail 1; fail 2'],
      ],
    );
  });
  test('no readable source is an error carrying every reason, never a pass (or skip when asked)', () => {
    const f = new Findings();
    f.missing('no unit file');
    f.missing('docker is not running');
    assert.equal(f.outcome().status, 'error');
    assert.equal(f.outcome().summary, 'no unit file; docker is not running');
    assert.equal(f.outcome('skip').status, 'skip');
  });
  const result = (status: CheckStatus) => ({ id: `x.${status}`, status }) as CheckResult;
  const exits: Array<[CheckStatus[], boolean, number]> = [
    [['pass', 'manual', 'skip', 'waived'], false, ExitCode.OK],
    [['pass', 'warn'], false, ExitCode.OK],
    [['pass', 'warn'], true, ExitCode.CHECK_FAILED],
    [['pass', 'fail'], false, ExitCode.CHECK_FAILED],
    [['error'], false, ExitCode.CHECK_FAILED],
    [[], false, ExitCode.OK],
  ];
  for (const [statuses, warnFails, code] of exits)
    test(`[${statuses.join(', ')}]${warnFails ? ' with warn_exit_nonzero' : ''} exits ${code}`, () => {
      assert.equal(exitCodeFor(statuses.map(result), warnFails), code);
      assert.equal(summarize(statuses.map(result)).total, statuses.length);
    });
});
