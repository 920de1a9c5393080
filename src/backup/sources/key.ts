import { readFile } from 'node:fs/promises';
import { BarysafeError, ExitCode } from '../../errors.js';
import { matchKeyToJwks, parseJwks, parsePrivateJwk, signerRefusals } from '../../barycenter/jwk.js';
import type { KeyRecord } from '../../repository/manifest.js';

export interface KeyMaterial {
  keyBytes: Buffer;
  jwksBytes: Buffer;
  record: KeyRecord;
  /** Why Barycenter's signer would refuse the key (empty when it signs). */
  signerRefusals: string[];
  /** Unusual but working (other public keys beside the signing key): recorded as manifest warnings. */
  warnings: string[];
}

/**
 * Reads private_key.pem (a JSON JWK) and jwks.json byte for byte. A mismatch between them is
 * recorded and reported, never fixed: Barycenter serves jwks.json verbatim, so a mismatch is an outage, and the operator
 * must decide which file is right.
 */
export async function readKeyMaterial(keyPath: string, jwksPath: string): Promise<KeyMaterial> {
  const keyBytes = await readSource(keyPath, 'signing key', 'keys.private_key_path');
  const jwksBytes = await readSource(jwksPath, 'JWKS', 'keys.jwks_path');
  const { facts } = await parsePrivateJwk(keyBytes.toString('utf8'), keyPath);
  const jwks = await parseJwks(jwksBytes.toString('utf8'), jwksPath);
  const match = matchKeyToJwks(facts, jwks);
  return {
    keyBytes,
    jwksBytes,
    signerRefusals: signerRefusals(facts),
    record: {
      kid: facts.kid,
      kty: facts.kty,
      alg: facts.alg,
      thumbprint: facts.thumbprint,
      modulus_bits: facts.modulusBits,
      jwks: {
        kids: jwks.keys.map((k) => k.kid),
        thumbprints: jwks.keys.map((k) => k.thumbprint),
        publishes_key_exactly: match.exact,
        problems: match.problems,
      },
    },
    warnings: match.warnings,
  };
}

async function readSource(file: string, what: string, setting: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new BarysafeError(
      'key',
      `cannot read the ${what} file ${file}: ${code === 'ENOENT' ? 'it does not exist' : code}`,
      {
        exitCode: ExitCode.SOURCE,
        hint:
          code === 'ENOENT'
            ? `check ${setting} in Barycenter's config and barycenter.workdir in barysafe.toml; if the key is really gone, Barycenter will generate a new one at its next start and every client's tokens break`
            : 'run barysafe as a user that can read the key (root or the service user)',
      },
    );
  }
}
