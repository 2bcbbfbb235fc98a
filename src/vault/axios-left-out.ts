/**
 * What node-vault gets for `require('axios')` in tng's bundle (scripts/build.mjs). node-vault loads axios for
 * its default transport, which tng never uses: VaultClient always hands it tng's own fetch stack. Leaving
 * axios (with form-data and mime-db) out takes about 500 KB of code off every command that talks to Vault.
 */
export function create(): never {
  throw new Error("node-vault's default axios transport is not bundled: tng always passes its own transport.");
}
