import { X509Certificate } from 'node:crypto';
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
  const hint = 'Point vault_cacert at the PEM file (-----BEGIN CERTIFICATE-----) of the CA that signed Vault\'s and the issuer\'s certificates.';
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw usageError('config.cacert', `vault_cacert ${path} holds no PEM certificate.`, hint);
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw usageError('config.cacert', `vault_cacert ${path}: certificate ${index + 1} of ${blocks.length} is not a valid certificate (${describe(error)}).`, hint, error);
    }
  }
  return text;
}
