import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, requireSecureUrl } from '../../../src/net/url.ts';

describe('transport security', () => {
  it('knows the loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.255.0.9', 'localhost', '[::1]', '::1', 'LOCALHOST']) assert.ok(isLoopbackHost(host), host);
    for (const host of ['128.0.0.1', '10.0.0.1', 'example.com', 'localhost.example.com', '[::2]', '0.0.0.0']) assert.ok(!isLoopbackHost(host), host);
  });
  it('accepts https anywhere and http only on loopback', () => {
    assert.equal(requireSecureUrl('https://vault.example.com', 'vault_addr').host, 'vault.example.com');
    assert.equal(requireSecureUrl('http://127.0.0.1:8200', 'vault_addr').port, '8200');
    assert.throws(() => requireSecureUrl('http://vault.example.com', 'vault_addr'), /vault_addr must use https/);
    assert.throws(() => requireSecureUrl('not a url', 'issuer'), /issuer "not a url" is not a URL/);
    // The host as the URL parser reads it: `127.5556` is 127.0.21.180, inside 127.0.0.0/8 (found by the fuzz pass).
    assert.equal(requireSecureUrl('http://127.5556/dex', 'issuer').hostname, '127.0.21.180');
    assert.throws(() => requireSecureUrl('http://vault.localhost:8200', 'vault_addr'), /vault_addr must use https/, 'only the loopback hosts the contract names');
  });
});
