import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { newPemPair } from './keygen.js';
import { BarysafeError, ExitCode, errorText } from '../errors.js';

/**
 * Ed25519 manifest signatures. age gives no sender authentication: anyone with the public
 * recipient could forge a snapshot that installs their own IdP signing key, so restore refuses
 * any manifest whose signature does not verify against a key the operator trusts.
 */
export interface Verifier {
  keyId: string;
  publicKey: KeyObject;
}
export interface Signer extends Verifier {
  privateKey: KeyObject;
}

/** A stable, public fingerprint of the verify key: "ed25519:" + base64url(SHA-256(SPKI DER)). */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return 'ed25519:' + createHash('sha256').update(der).digest('base64url');
}

export function generateSigningKey(): { privatePem: string; publicPem: string } {
  return newPemPair({ type: 'ed25519' });
}

export async function loadSigner(file: string): Promise<Signer> {
  const pem = await readKeyFile(file, 'signing key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new BarysafeError('signing-key', `${file} is not a PKCS#8 PEM private key`, {
      exitCode: ExitCode.USAGE,
      hint: 'encryption.signing_key_file must be an Ed25519 key such as `openssl genpkey -algorithm ed25519` writes',
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new BarysafeError(
      'signing-key',
      `${file} holds a ${privateKey.asymmetricKeyType} key; manifests are signed with Ed25519`,
      { exitCode: ExitCode.USAGE },
    );
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/** Loads a verify key from a public SPKI PEM, or derives it from a private signing key file. */
export async function loadVerifier(file: string): Promise<Verifier> {
  const pem = await readKeyFile(file, 'verify key');
  let publicKey: KeyObject;
  try {
    publicKey = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch {
    throw new BarysafeError('signing-key', `${file} is not an Ed25519 PEM key`, { exitCode: ExitCode.USAGE });
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new BarysafeError(
      'signing-key',
      `${file} holds a ${publicKey.asymmetricKeyType} key; manifests are verified with Ed25519`,
      { exitCode: ExitCode.USAGE },
    );
  }
  return { publicKey, keyId: keyIdOf(publicKey) };
}

export function signBytes(signer: Signer, data: Uint8Array): string {
  return sign(null, data, signer.privateKey).toString('base64');
}

export function verifyBytes(verifier: Verifier, data: Uint8Array, signatureB64: string): boolean {
  try {
    return verify(null, data, verifier.publicKey, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

async function readKeyFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new BarysafeError(
      'signing-key',
      `cannot read the manifest ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? errorText(e)}`,
      {
        exitCode: ExitCode.USAGE,
        hint: 'set encryption.signing_key_file (or encryption.verify_key) to the Ed25519 key `barysafe init` wrote',
      },
    );
  }
}
