/**
 * node:crypto, loaded when first used. Loading it costs about 5 ms, and a warm `tng credential-process` (read
 * the session item, print the cached credentials) needs none of it, so the modules on that path take it from
 * here instead of importing it at their top.
 */
import { createRequire } from 'node:module';

type NodeCrypto = typeof import('node:crypto');

let loaded: NodeCrypto | undefined;

export function nodeCrypto(): NodeCrypto {
  loaded ??= createRequire(import.meta.url)('node:crypto') as NodeCrypto;
  return loaded;
}
