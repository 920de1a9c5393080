import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { errorText } from '../../errors.js';
import { publicUrlOf } from '../../barycenter/public-url.js';
import type { DrillContext, RunningInput } from '../context.js';
import { parseJsonObject, request } from '../../platform/http.js';
import { toLoopback } from '../loopback-url.js';
import { probe } from '../../platform/http.js';
import { deviceGrant, TokenFlowError } from '../token-flow.js';
import { fail, inconclusive, pass, type StepOutcome } from '../step-runner.js';

/**
 * Step 7. An ID token from a real flow (the device grant) verifies with the restored key and
 * against production's JWKS (barycenter.public_url, else the snapshot's public_base_url), and
 * userinfo answers for the same `sub`. Production unreachable is inconclusive, never a pass.
 */
export async function tokenStep(input: RunningInput, ctx: DrillContext): Promise<StepOutcome> {
  const user = input.drillUser;
  let tokens;
  try {
    tokens = await deviceGrant({
      baseUrl: input.baseUrl,
      issuer: input.issuer,
      discovery: input.discovery,
      username: user.username,
      password: user.password,
    });
  } catch (e) {
    if (e instanceof TokenFlowError) return fail(`device grant: ${e.message}`);
    throw e;
  }
  const header = decodeProtectedHeader(tokens.idToken);
  const evidence: Record<string, unknown> = { flow: 'device_code', alg: header.alg, kid: header.kid ?? null };

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(tokens.idToken, createLocalJWKSet({ keys: [input.key.publicJwk] }), {
      issuer: input.issuer,
      audience: tokens.clientId,
      algorithms: ['RS256'],
    }));
  } catch (e) {
    return fail(`the ID token does not verify with the restored key: ${joseReason(e)}`, evidence);
  }
  evidence.sub = claims.sub;

  const ui = await request(
    toLoopback(input.discovery.userinfo_endpoint, input.issuer, input.baseUrl) ?? `${input.baseUrl}/userinfo`,
    { headers: { authorization: `Bearer ${tokens.accessToken}` } },
  );
  const info = parseJsonObject(ui.text);
  if (ui.status !== 200 || !info || info.sub !== claims.sub)
    return fail(
      `userinfo answered ${ui.status}${info ? ` with sub ${JSON.stringify(info.sub)}` : ''}, not the ID token's sub ${claims.sub}`,
      evidence,
    );
  if (info.preferred_username !== undefined && info.preferred_username !== user.username)
    return fail(`userinfo names ${JSON.stringify(info.preferred_username)}, not the drill user`, evidence);
  ctx.verifiedAt = performance.now();

  const local = `ID token (RS256, kid ${header.kid}) verifies with the restored key; userinfo answers for sub ${claims.sub}`;
  const prod = publicUrlOf(ctx.config.barycenter.public_url, input.entry.manifest.barycenter.public_base_url);
  if (!prod)
    return pass(
      `${local}; production JWKS not checked: neither barycenter.public_url nor the snapshot's public_base_url is set`,
      evidence,
    );
  const jwksUrl = `${prod}/.well-known/jwks.json`;
  evidence.production_jwks = jwksUrl;
  const r = await probe(jwksUrl);
  if (r.error !== null)
    return inconclusive(
      `${local}; but production's JWKS at ${jwksUrl} is unreachable (${r.error}), so key continuity is unproven`,
      evidence,
    );
  const doc = r.json as { keys?: unknown } | undefined;
  if (r.status !== 200 || !Array.isArray(doc?.keys))
    return inconclusive(
      `${local}; but production's JWKS at ${jwksUrl} answered ${r.status}${doc ? '' : ' without a JWK Set'}, so key continuity is unproven`,
      evidence,
    );
  const prodJwks = doc as unknown as JSONWebKeySet;
  try {
    await jwtVerify(tokens.idToken, createLocalJWKSet(prodJwks), { algorithms: ['RS256'] });
  } catch (e) {
    const kids = prodJwks.keys.map((k) => k.kid ?? '(none)').join(', ');
    const why =
      e instanceof joseErrors.JWKSNoMatchingKey
        ? `does not publish the restored key (kid ${header.kid}; production publishes ${kids || 'no key'})`
        : `rejects the token (${joseReason(e)}; production publishes ${kids})`;
    return fail(
      `${local}; but production's JWKS at ${jwksUrl} ${why}: tokens from a restored instance would break every relying party`,
      evidence,
    );
  }
  return pass(`${local}; it also verifies with production's JWKS at ${jwksUrl}`, evidence);
}

function joseReason(e: unknown): string {
  return e instanceof joseErrors.JOSEError ? `${e.code}: ${e.message}` : errorText(e);
}
