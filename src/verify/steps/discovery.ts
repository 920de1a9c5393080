import { errorText } from '../../errors.js';
import type { DrillContext, RunningInput } from '../context.js';
import { formPost, parseJsonObject, request, type RequestOptions } from '../../platform/http.js';
import { toLoopback } from '../loopback-url.js';
import { restoredSettings } from '../restored-settings.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

const ENDPOINTS = ['jwks_uri', 'token_endpoint', 'userinfo_endpoint', 'device_authorization_endpoint'] as const;

/**
 * Step 5. Discovery announces the issuer the restored config gets under the drill's overrides
 * (its public_base_url replaced by the scratch http://localhost:<port>, so drill tokens are never
 * valid production tokens), every endpoint lives under it, and the endpoints answer as Barycenter's
 * do: JWKS 200, token 400 for an unknown grant, userinfo 401 without a token.
 */
export async function discoveryStep(input: RunningInput, ctx: DrillContext): Promise<StepOutcome> {
  const { baseUrl, issuer } = input;
  const r = await request(`${baseUrl}/.well-known/openid-configuration`);
  const doc = parseJsonObject(r.text);
  if (r.status !== 200 || !doc) return fail(`discovery answered ${r.status}${doc ? '' : ' without a JSON document'}`);
  ctx.discovery = doc;
  const problems: string[] = [];
  if (doc.issuer !== issuer)
    problems.push(
      `discovery issuer ${JSON.stringify(doc.issuer)} ≠ ${issuer}: the instance did not take the scratch public_base_url`,
    );

  const answers: Record<string, number | string> = {};
  const urls: Partial<Record<(typeof ENDPOINTS)[number], string>> = {};
  for (const name of ENDPOINTS) {
    const u = toLoopback(doc[name], issuer, baseUrl);
    if (!u) problems.push(`${name} ${JSON.stringify(doc[name])} is missing or not under the issuer ${issuer}`);
    else urls[name] = u;
  }
  const probe = async (name: (typeof ENDPOINTS)[number], init: RequestOptions, expected: number) => {
    if (!urls[name]) return;
    try {
      const a = await request(urls[name]!, init);
      answers[name] = a.status;
      if (a.status !== expected) problems.push(`${name} answered ${a.status}, expected ${expected}`);
    } catch (e) {
      answers[name] = errorText(e);
      problems.push(`${name} does not answer (${errorText(e)})`);
    }
  };
  await probe('jwks_uri', {}, 200);
  await probe('token_endpoint', formPost({ grant_type: 'urn:barysafe:drill-probe' }), 400);
  await probe('userinfo_endpoint', {}, 401);

  const evidence: Record<string, unknown> = {
    issuer: doc.issuer,
    endpoints: answers,
    production_issuer: input.entry.manifest.barycenter.issuer,
  };
  const restoredIssuer = restoredConfigIssuer(input);
  if (restoredIssuer) evidence.restored_config_issuer = restoredIssuer;
  const algs = doc.id_token_signing_alg_values_supported;
  const note =
    Array.isArray(algs) && !algs.includes('RS256')
      ? `; note: discovery advertises ${JSON.stringify(algs)} but Barycenter always signs RS256 (keys.alg)`
      : '';
  if (problems.length) return fail(problems.join('; ') + note, evidence);
  return pass(`issuer ${issuer}; jwks_uri 200, token_endpoint 400, userinfo_endpoint 401 as expected${note}`, evidence);
}

/** The issuer the restored config and environment give production; evidence that the config is the one backed up. */
function restoredConfigIssuer(input: RunningInput): string | undefined {
  try {
    return restoredSettings(input.restored).issuer;
  } catch {
    return undefined;
  }
}
