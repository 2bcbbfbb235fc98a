import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bareNamespace, bareVaultAddr, itemKey, tokenHelperKey } from '../../../src/keychain/store.ts';

describe('item names', () => {
  it('one item per profile and kind', () => {
    assert.equal(itemKey('work', 'session'), 'profile:work:session');
  });

  it('a Vault address and namespace name one token-helper item however their slashes are written', () => {
    assert.equal(bareVaultAddr('https://vault:8200//'), 'https://vault:8200');
    for (const namespace of ['team1', 'team1/', '/team1/', '//team1']) assert.equal(bareNamespace(namespace), 'team1', namespace);
    for (const none of [undefined, '', '/', '//']) assert.equal(bareNamespace(none), undefined, String(none));
    assert.equal(tokenHelperKey('https://vault:8200/', '/team1/'), 'vault-token:https://vault:8200|team1');
    assert.equal(tokenHelperKey('https://vault:8200', undefined), 'vault-token:https://vault:8200');
    assert.equal(tokenHelperKey('https://vault:8200', '/'), tokenHelperKey('https://vault:8200', undefined));
  });
});
