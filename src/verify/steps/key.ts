import { readFile } from 'node:fs/promises';
import { isBarysafeError } from '../../errors.js';
import { matchKeyToJwks, parseJwks, parsePrivateJwk, signerRefusals } from '../../barycenter/jwk.js';
import type { DrillContext, RestoredInput } from '../context.js';
import { fail, pass, type StepOutcome } from '../step-runner.js';

/**
 * Step 2. `private_key.pem` is a key Barycenter's signer accepts (RSA of at least 2048 bits, `alg`
 * RS256 or absent, `use` sig or absent, `key_ops` with sign if present), and `jwks.json` publishes
 * exactly its public part (same kid and RFC 7638 thumbprint, one key, no private members) — the
 * pairing Barycenter itself never checks. Both must also be the key the manifest recorded.
 */
export async function keyStep({ entry, restored }: RestoredInput, ctx: DrillContext): Promise<StepOutcome> {
  const { layout } = restored;
  const manifestKey = entry.manifest.key;
  let facts, jwk, jwks;
  try {
    ({ facts, jwk } = await parsePrivateJwk(
      await readFile(layout.privateKeyPath, 'utf8'),
      'the restored private_key.pem',
    ));
    jwks = await parseJwks(await readFile(layout.jwksPath, 'utf8'), 'the restored jwks.json');
  } catch (e) {
    if (isBarysafeError(e)) return fail(e.message);
    throw e;
  }
  ctx.key = {
    facts,
    publicJwk: { kty: 'RSA', n: jwk.n, e: jwk.e, ...(facts.kid ? { kid: facts.kid } : {}), alg: 'RS256', use: 'sig' },
  };

  const problems: string[] = [];
  const refused = signerRefusals(facts);
  if (refused.length)
    problems.push(
      `Barycenter's signer refuses this key (${refused.join('; ')}): the instance would boot and then answer 500 to every token request`,
    );
  const match = matchKeyToJwks(facts, jwks);
  problems.push(...match.problems);
  if (facts.thumbprint !== manifestKey.thumbprint)
    problems.push(
      `the restored key (thumbprint ${facts.thumbprint}) is not the key the manifest recorded (${manifestKey.thumbprint})`,
    );
  if (facts.kid !== manifestKey.kid)
    problems.push(`the restored key's kid ${facts.kid} differs from the manifest's ${manifestKey.kid}`);
  const evidence = {
    kid: facts.kid,
    thumbprint: facts.thumbprint,
    modulus_bits: facts.modulusBits,
    alg: facts.alg,
    use: facts.use,
    key_ops: facts.keyOps,
    jwks_kids: jwks.keys.map((k) => k.kid),
    jwks_thumbprints: jwks.keys.map((k) => k.thumbprint),
  };
  if (problems.length) return fail(problems.join('; '), evidence);
  // Other public keys beside the signing key (a rotation in progress) still verify every token.
  if (match.warnings.length)
    return pass(
      `RSA-${facts.modulusBits} key ${facts.kid ?? '(no kid)'}; jwks.json publishes its public part (thumbprint ${facts.thumbprint}); warning: ${match.warnings.join('; ')}`,
      { ...evidence, warnings: match.warnings },
    );
  return pass(
    `RSA-${facts.modulusBits} key ${facts.kid ?? '(no kid)'}; jwks.json publishes exactly its public part (thumbprint ${facts.thumbprint})`,
    evidence,
  );
}
