import { readFile } from 'node:fs/promises';
import { describe, usageError } from '../errors.ts';

/** The PEM text of vault_cacert; a file that cannot be read or holds no certificate is a config error (exit 2). */
export async function readCaFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError('config.cacert', `Cannot read vault_cacert ${path}: ${describe(error)}.`, 'Point vault_cacert at a readable PEM file.', error);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw usageError('config.cacert', `vault_cacert ${path} holds no PEM certificate.`, 'Point vault_cacert at the PEM file (-----BEGIN CERTIFICATE-----) of the CA that signed Vault\'s and the issuer\'s certificates.');
  }
  return text;
}
