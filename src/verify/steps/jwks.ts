import { readFile } from 'node:fs/promises';
import { matchKeyToJwks, parseJwks, parsePrivateJwk } from '../../barycenter/jwk.js';
import { isBarysafeError } from '../../errors.js';
import type { RunningInput } from '../context.js';
import { request } from '../../platform/http.js';
import { toLoopback } from '../loopback-url.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

/**
 * Step 6. The JWKS the scratch instance serves is the restored key: it publishes the restored
 * key's thumbprint under its kid, equals the restored jwks.json, and the key file on disk is still
 * the restored one after boot. Catches both traps of a key file and a write-once jwks.json: a key regenerated because the
 * file was missing, and a stale jwks.json served verbatim.
 */
export async function jwksStep(input: RunningInput): Promise<StepOutcome> {
  const url =
    toLoopback(input.discovery.jwks_uri, input.issuer, input.baseUrl) ?? `${input.baseUrl}/.well-known/jwks.json`;
  const r = await request(url);
  if (r.status !== 200) return fail(`the scratch JWKS answered ${r.status}`);
  const key = input.key.facts;
  const problems: string[] = [];
  let served;
  try {
    served = await parseJwks(r.text, 'the served JWKS');
  } catch (e) {
    if (isBarysafeError(e)) return fail(e.message);
    throw e;
  }
  const match = matchKeyToJwks(key, served);
  if (!match.published)
    problems.push(
      `the scratch instance serves a JWKS without the restored signing key (kid ${key.kid}, thumbprint ${key.thumbprint}; served kids ${served.keys.map((k) => k.kid).join(', ') || '(none)'}): relying parties would reject its tokens`,
    );
  else problems.push(...match.problems.map((p) => p.replace(/^jwks\.json/, 'the served JWKS')));

  const restored = await parseJwks(await readFile(input.restored.layout.jwksPath, 'utf8'), 'the restored jwks.json');
  const same =
    JSON.stringify(restored.keys.map((k) => [k.kid, k.thumbprint])) ===
    JSON.stringify(served.keys.map((k) => [k.kid, k.thumbprint]));
  if (!same)
    problems.push('the served JWKS differs from the restored jwks.json: the instance did not use the restored file');

  const onDisk = await parsePrivateJwk(
    await readFile(input.restored.layout.privateKeyPath, 'utf8'),
    'private_key.pem after boot',
  ).catch(() => undefined);
  if (onDisk?.facts.thumbprint !== key.thumbprint)
    problems.push(
      'the private key file changed during boot: the instance generated a new key instead of loading the restored one',
    );

  const evidence = {
    served_kids: served.keys.map((k) => k.kid),
    served_thumbprints: served.keys.map((k) => k.thumbprint),
  };
  if (problems.length) return fail(problems.join('; '), evidence);
  return pass(
    match.warnings.length
      ? `serves the restored key ${key.kid} (thumbprint ${key.thumbprint}) and the restored jwks.json's other public keys (${served.keys.length} in all); no new key generated`
      : `serves exactly the restored key ${key.kid} (thumbprint ${key.thumbprint}); no new key generated`,
    evidence,
  );
}
