/**
 * Key pairs for the sandbox's issuers, its virtual authenticator and the tests. A key pair comes out
 * PEM-encoded and is read back into key objects of its own, so no JWK is ever exported from a key that a
 * key-generation job still refers to: under Node 20 a garbage collection during such an export can free the
 * job, whose destructor waits for the lock the export holds, and the process hangs for good.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA';

export function newKeyPair(alg: SigningAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  const privateKeyEncoding = { type: 'pkcs8', format: 'pem' } as const;
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const pair: { privateKey: string; publicKey: string } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding, publicKeyEncoding })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding, publicKeyEncoding })
        : generateKeyPairSync('ed25519', { privateKeyEncoding, publicKeyEncoding });
  return { privateKey: createPrivateKey(pair.privateKey), publicKey: createPublicKey(pair.publicKey) };
}
