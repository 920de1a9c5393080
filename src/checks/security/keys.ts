import { readFile } from 'node:fs/promises';
import {
  matchKeyToJwks,
  parseJwks,
  parsePrivateJwk,
  signerRefusals,
  type JwksFacts,
  type KeyFacts,
} from '../../barycenter/jwk.js';
import { errorText } from '../../errors.js';
import type { CheckContext, CheckDefinition, CheckOutcome, Evidence } from '../types.js';
import { servedJwks } from '../evidence/http.js';

/** security.* checks of the signing key, jwks.json and the JWKS the IdP serves. */

async function readKeyFiles(ctx: CheckContext): Promise<{ key: KeyFacts; jwks: JwksFacts } | CheckOutcome> {
  const b = ctx.barycenter;
  try {
    const key = (await parsePrivateJwk(await readFile(b.privateKeyPath, 'utf8'), b.privateKeyPath)).facts;
    const jwks = await parseJwks(await readFile(b.jwksPath, 'utf8'), b.jwksPath);
    return { key, jwks };
  } catch (e) {
    return {
      status: 'error',
      summary: errorText(e),
      evidence: [{ source: `file:${b.privateKeyPath}` }, { source: `file:${b.jwksPath}` }],
    };
  }
}

const jwksMatchesKey: CheckDefinition = {
  id: 'security.jwks-matches-key',
  section: 'security',
  title: 'jwks.json publishes exactly the public part of the private key',
  rationale:
    'jwks.json is written once and served verbatim; Barycenter never checks it against the key. A restored or regenerated key with a stale jwks.json makes every token fail verification ("unknown kid" or a bad signature).',
  severity: 'critical',
  remediation: {
    default:
      'Restore private_key.pem and jwks.json together from the same snapshot, or delete jwks.json so Barycenter regenerates it from the key at the next start, then restart.',
  },
  async run(ctx) {
    const files = await readKeyFiles(ctx);
    if ('status' in files) return files;
    const { key, jwks } = files;
    const match = matchKeyToJwks(key, jwks);
    const evidence: Evidence[] = [
      {
        source: `file:${ctx.barycenter.privateKeyPath} (public part)`,
        observed: { kid: key.kid, thumbprint: key.thumbprint },
      },
      {
        source: `file:${ctx.barycenter.jwksPath}`,
        observed: jwks.keys.map((k) => ({ kid: k.kid, thumbprint: k.thumbprint })),
        expected: [{ kid: key.kid, thumbprint: key.thumbprint }],
      },
    ];
    const served = await servedJwks(ctx);
    let servedProblem: string | null = null;
    if (served && !served.error && served.status === 200) {
      try {
        const s = await parseJwks(JSON.stringify(served.json), served.url);
        const tps = s.keys.map((k) => k.thumbprint);
        evidence.push({
          source: `GET ${served.url}`,
          observed: s.keys.map((k) => ({ kid: k.kid, thumbprint: k.thumbprint })),
        });
        if (!tps.includes(key.thumbprint))
          servedProblem =
            'the JWKS served at the public URL does not contain the signing key (stale process or another instance behind the proxy)';
      } catch (e) {
        servedProblem = `the served JWKS is not a JWK Set: ${errorText(e)}`;
      }
    } else if (served) {
      evidence.push({
        source: `GET ${served.url}`,
        observed: served.error ?? `HTTP ${served.status}`,
        note: 'served JWKS not compared',
      });
    }
    const problems = [...match.problems, ...(servedProblem ? [servedProblem] : [])];
    if (problems.length)
      return {
        status: 'fail',
        summary: problems[0]!,
        evidence: [...evidence, { source: 'comparison', observed: problems }],
      };
    if (match.warnings.length)
      return {
        status: 'warn',
        summary: match.warnings[0]!,
        evidence: [...evidence, { source: 'comparison', observed: match.warnings }],
        remediation:
          'When the rotation is complete (every token signed with the old key has expired), remove the old public key from jwks.json and restart, so the JWKS publishes only the signing key.',
      };
    return {
      status: 'pass',
      summary: `jwks.json publishes exactly the signing key (kid ${key.kid}, thumbprint ${key.thumbprint})`,
      evidence,
    };
  },
};

const keyStrength: CheckDefinition = {
  id: 'security.key-strength',
  section: 'security',
  title:
    "The signing key is one Barycenter's signer accepts (RSA ≥ 2048 bits, RS256, use sig); the served JWKS carries no private members",
  rationale:
    'RS256 with less than 2048 bits is below current guidance (NIST SP 800-57). Barycenter signs with josekit, which refuses a JWK whose alg is not RS256, whose use is not sig or whose key_ops lacks sign: the IdP boots and every token request answers 500. A JWKS carrying d, p, q… publishes the private key to the world.',
  severity: 'critical',
  remediation: {
    default:
      'A key refused by the signer (e.g. generated while keys.alg was RS384) must be replaced: set keys.alg = "RS256", move private_key.pem and jwks.json away, restart so Barycenter generates a new pair, and tell relying parties to re-fetch the JWKS. Replace a jwks.json with private members by the public part only (delete it and restart to regenerate it) and, if private members were ever served, rotate the key.',
  },
  async run(ctx) {
    const files = await readKeyFiles(ctx);
    if ('status' in files) return files;
    const { key, jwks } = files;
    const problems: string[] = [];
    const unknowns: string[] = [];
    const evidence: Evidence[] = [
      {
        source: `file:${ctx.barycenter.privateKeyPath}`,
        observed: { kty: key.kty, modulus_bits: key.modulusBits, alg: key.alg, use: key.use, key_ops: key.keyOps },
        expected: {
          kty: 'RSA',
          modulus_bits: '>= 2048',
          alg: 'RS256 or absent',
          use: 'sig or absent',
          key_ops: 'containing sign, or absent',
        },
      },
    ];
    const refused = signerRefusals(key);
    if (refused.length)
      problems.push(
        `Barycenter's signer refuses the signing key (${refused.join('; ')}): every token request answers 500`,
      );
    const filePrivate = jwks.keys.flatMap((k) => k.privateMembers);
    evidence.push({
      source: `file:${ctx.barycenter.jwksPath}`,
      observed: { private_members: filePrivate },
      expected: { private_members: [] },
    });
    if (filePrivate.length) problems.push(`jwks.json holds private members (${[...new Set(filePrivate)].join(', ')})`);
    const served = await servedJwks(ctx);
    if (!served) unknowns.push('no public URL is known, so the served JWKS could not be fetched');
    else if (served.error || served.status !== 200)
      unknowns.push(`the served JWKS could not be fetched (${served.error ?? `HTTP ${served.status}`})`);
    else {
      try {
        const s = await parseJwks(JSON.stringify(served.json), served.url);
        const leaked = s.keys.flatMap((k) => k.privateMembers);
        const weak = s.keys.filter((k) => k.kty === 'RSA' && (k.modulusBits ?? 0) < 2048);
        evidence.push({
          source: `GET ${served.url}`,
          observed: {
            keys: s.keys.map((k) => ({ kid: k.kid, kty: k.kty, modulus_bits: k.modulusBits })),
            private_members: leaked,
          },
          expected: { private_members: [] },
        });
        if (leaked.length)
          problems.push(`the served JWKS publishes private members (${[...new Set(leaked)].join(', ')})`);
        if (weak.length)
          problems.push(`the served JWKS publishes RSA keys under 2048 bits (${weak.map((k) => k.kid).join(', ')})`);
      } catch (e) {
        unknowns.push(`the served JWKS is not a JWK Set: ${errorText(e)}`);
      }
    }
    if (problems.length) return { status: 'fail', summary: problems.join('; '), evidence };
    if (unknowns.length)
      return {
        status: 'error',
        summary: `the key file is RSA ${key.modulusBits} bits, but ${unknowns.join('; ')}`,
        evidence,
      };
    return {
      status: 'pass',
      summary: `RSA ${key.modulusBits} bits, accepted by Barycenter's RS256 signer; neither jwks.json nor the served JWKS carries private members`,
      evidence,
    };
  },
};

export const checks: CheckDefinition[] = [jwksMatchesKey, keyStrength];
