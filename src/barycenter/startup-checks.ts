import { isIPv6 } from 'node:net';
import path from 'node:path';
import type { BarycenterSettings } from '../config/barycenter.js';
import { redactUrl } from '../redact.js';
import type { BarycenterBuild } from './builds.js';

/**
 * The checks Barycenter itself makes on its settings while it starts, replayed without starting
 * it: a setting that fails one makes the real service exit (or, for WebFinger, start without
 * what the setting names), whatever a drill's own overrides let a scratch instance do.
 */

/** What the checks read besides the settings: the files the snapshot holds, by production path. */
export interface StartupInputs {
  settings: BarycenterSettings;
  /** Production's working directory: relative paths in the settings resolve against it. */
  workdir: string;
  /** Plain (not BARYCENTER__) variables the service runs with. */
  env: Record<string, string>;
  /** Top-level sections the settings create: tables of the config file and BARYCENTER__<SECTION>__ variables. */
  sections: ReadonlySet<string>;
  /** Keys the config file sets, dotted and lower-cased ("federation.trust_anchors"). */
  fileKeys: ReadonlySet<string>;
  /** Production paths of the extra files the snapshot holds. */
  files: readonly string[];
  /** The contents of a file the snapshot holds (undefined when it holds none at that path). */
  read(productionPath: string): string | undefined;
}

export interface StartupProblem {
  /** The setting (or variable) at fault. */
  setting: string;
  reason: string;
}

export interface StartupReport {
  /** Every check made, in order (evidence: what a pass covered). */
  checked: string[];
  problems: StartupProblem[];
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
// The onboarding token check compares url's host_str(), which keeps an IPv6 host's brackets, with
// "::1": so only these two pass there.
const TOKEN_LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1']);
/** The onboarding admin token must be at least this long (characters). */
const ONBOARDING_TOKEN_MIN = 32;

export function startupProblems(build: BarycenterBuild, input: StartupInputs): StartupReport {
  const checked: string[] = [];
  const problems: StartupProblem[] = [];
  const s = input.settings;
  const has = (section: string) => section in build.settings;
  const check = (name: string, problem: StartupProblem | undefined) => {
    checked.push(name);
    if (problem) problems.push(problem);
  };

  check('server.host:port is a socket address', socketAddrProblem(s.server.host, s.server.port));
  check('server.public_base_url is a URL with a DNS host', publicBaseUrlProblem(s.server.public_base_url));
  if (has('authz') && s.authz.enabled) check('authz.policies_dir is in the snapshot', policiesProblem(input));
  if (has('webfinger') && s.webfinger.enabled && s.webfinger.service_token_file) {
    const file = path.resolve(input.workdir, s.webfinger.service_token_file);
    check(
      'webfinger.service_token_file is in the snapshot',
      input.read(file) === undefined
        ? {
            setting: 'webfinger.service_token_file',
            reason: `webfinger.enabled is true but the snapshot does not hold ${file}: the restored service would start without its WebFinger token and never register`,
          }
        : undefined,
    );
  }
  if (has('federation')) {
    const spec = build.settings.federation?.trust_anchors;
    if (spec?.requiredInSection && input.sections.has('federation'))
      check(
        '[federation] has trust_anchors',
        input.fileKeys.has('federation.trust_anchors')
          ? undefined
          : {
              setting: 'federation.trust_anchors',
              reason: `the settings create a [federation] section without trust_anchors, which ${build.id} requires there ("missing field \`trust_anchors\`"; a list cannot come from the environment): add trust_anchors = [] under [federation] in the config file`,
            },
      );
  }
  if ('onboarding_app_url' in (build.settings.server ?? {}) && s.server.onboarding_app_url !== undefined)
    check(
      'server.onboarding_app_url is https (http only on loopback)',
      onboardingUrlProblem(s.server.onboarding_app_url),
    );
  if ('BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE' in build.env && input.env.BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE)
    check('BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE is in the snapshot', onboardingTokenProblem(input));
  return { checked, problems };
}

/**
 * `format!("{host}:{port}").parse::<SocketAddr>()`: an IPv4 literal in dotted-decimal form (no
 * leading zeros, four parts) or a bracketed IPv6 literal; a name such as localhost is refused.
 */
export function socketAddrProblem(host: string, port: number): StartupProblem | undefined {
  const bad = (why: string): StartupProblem => ({
    setting: 'server.host',
    reason: `"${host}:${port}" is not a socket address (Barycenter exits with "bad listen addr"): ${why}`,
  });
  if (IPV4.test(host)) return undefined;
  const bracketed = /^\[(.*)\]$/.exec(host);
  if (bracketed) {
    if (bracketed[1]!.includes('%')) return bad('a zone index (%…) is not accepted');
    return isIPv6(bracketed[1]!) ? undefined : bad(`${bracketed[1]} is not an IPv6 address`);
  }
  if (isIPv6(host)) return bad(`an IPv6 address must be bracketed: host = "[${host}]"`);
  return bad('host must be an IP address (a name such as localhost is not resolved)');
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/**
 * The issuer is the WebAuthn relying party: its host must be a DNS name. Without
 * public_base_url the issuer is http://<host>:<port>, whose host is an IP address, so the real
 * service fails at WebAuthn set-up.
 */
export function publicBaseUrlProblem(value: string | undefined): StartupProblem | undefined {
  const bad = (reason: string): StartupProblem => ({ setting: 'server.public_base_url', reason });
  if (value === undefined)
    return bad(
      'is not set: the issuer falls back to http://<host>:<port>, an IP address, and WebAuthn set-up fails at start-up (it needs a DNS host)',
    );
  const trimmed = value.replace(/\/+$/, '');
  const shown = redactUrl(trimmed);
  if (trimmed === '') return bad('is empty: the issuer is empty and WebAuthn set-up fails at start-up');
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return bad(`"${shown}" is not a URL: WebAuthn set-up fails at start-up`);
  }
  if (IPV4.test(url.hostname) || url.hostname.startsWith('['))
    return bad(`"${shown}" has an IP address as its host: WebAuthn needs a DNS host and set-up fails at start-up`);
  if (!url.hostname) return bad(`"${shown}" has no host: WebAuthn set-up fails at start-up`);
  return undefined;
}

/** Barycenter refuses to start with authz on and no policies directory; barysafe backs up its *.kdl files. */
function policiesProblem(input: StartupInputs): StartupProblem | undefined {
  const dir = path.resolve(input.workdir, input.settings.authz.policies_dir);
  const inside = input.files.filter((f) => path.dirname(f) === dir && f.endsWith('.kdl'));
  if (inside.length) return undefined;
  return {
    setting: 'authz.policies_dir',
    reason: `authz.enabled is true but the snapshot holds no policy (*.kdl) from ${dir}: Barycenter refuses to start without its policies (barysafe backs them up when it can read that directory)`,
  };
}

/** https, or http only for localhost, 127.0.0.1 and [::1]; no credentials, no fragment. */
export function onboardingUrlProblem(value: string): StartupProblem | undefined {
  const bad = (why: string): StartupProblem => ({
    setting: 'server.onboarding_app_url',
    reason: `"${redactUrl(value)}" ${why}: Barycenter refuses to start`,
  });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return bad('is not a URL');
  }
  if (url.username || url.password) return bad('holds credentials');
  if (url.hash || value.includes('#')) return bad('has a fragment');
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return bad('must be https (http only for localhost, 127.0.0.1 or [::1])');
}

function onboardingTokenProblem(input: StartupInputs): StartupProblem | undefined {
  const setting = 'BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE';
  const file = path.resolve(input.workdir, input.env.BARYCENTER_ONBOARDING_ADMIN_TOKEN_FILE!);
  const text = input.read(file);
  if (text === undefined)
    return {
      setting,
      reason: `names ${file}, which the snapshot does not hold: Barycenter cannot read its onboarding token and refuses to start`,
    };
  // Only the length is looked at: the token itself is a secret.
  const length = text.trim().length;
  if (length < ONBOARDING_TOKEN_MIN)
    return {
      setting,
      reason: `${file} holds ${length} characters, fewer than the ${ONBOARDING_TOKEN_MIN} Barycenter requires: it refuses to start`,
    };
  const issuer = input.settings.server.public_base_url;
  const issuerOk = (() => {
    try {
      const u = new URL(issuer ?? '');
      return u.protocol === 'https:' || (u.protocol === 'http:' && TOKEN_LOOPBACK_HOSTS.has(u.hostname));
    } catch {
      return false;
    }
  })();
  if (!issuerOk)
    return {
      setting,
      reason: `onboarding needs server.public_base_url to be https (or http on localhost/127.0.0.1), and it is ${issuer === undefined ? 'not set' : `"${redactUrl(issuer)}"`}: Barycenter refuses to start`,
    };
  return undefined;
}
