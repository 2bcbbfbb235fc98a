import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { TEMPLATES } from './helpers.ts';

type Client = Record<string, unknown>;

/** Go's time.ParseDuration for the units Dex configs use, in seconds. */
function seconds(duration: unknown): number {
  assert.equal(typeof duration, 'string', `${String(duration)} is not a duration string`);
  const parts = [...(duration as string).matchAll(/(\d+)(h|m|s)/g)];
  assert.equal(parts.map((p) => p[0]).join(''), duration, `${String(duration)} is not a duration`);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'], 0);
}

describe('dex template', () => {
  let config: any;
  let text: string;
  before(async () => {
    text = await readFile(join(TEMPLATES, 'dex', 'config.yaml'), 'utf8');
    const document = parseDocument(text, { strict: true, uniqueKeys: true });
    assert.deepEqual(document.errors, []);
    assert.deepEqual(document.warnings, []);
    config = document.toJS();
  });

  it('parses as YAML, and the parser rejects broken YAML', () => {
    assert.equal(typeof config, 'object');
    assert.ok(parseDocument('staticClients:\n  - id: tng\n   public: true\n').errors.length > 0);
  });

  it('has an https issuer', () => {
    assert.match(config.issuer, /^https:\/\/[^/]+\/dex$/);
  });

  it('registers tng as a public client with no redirect URIs (so any loopback port is accepted)', () => {
    const tng = (config.staticClients as Client[]).find((c) => c.id === 'tng');
    assert.ok(tng, 'the tng client');
    assert.equal(tng.public, true);
    assert.equal(tng.redirectURIs, undefined);
    assert.equal(tng.secret, undefined);
    assert.equal(tng.secretEnv, undefined);
  });

  it('registers Vault as a confidential client whose secret comes from the environment', () => {
    const vault = (config.staticClients as Client[]).find((c) => c.id === 'vault');
    assert.ok(vault, 'the vault client');
    assert.notEqual(vault.public, true);
    assert.equal(vault.secret, undefined);
    assert.match(String(vault.secretEnv), /^[A-Z][A-Z0-9_]+$/);
    assert.ok((vault.redirectURIs as string[]).includes('http://localhost:8250/oidc/callback'));
  });

  it('expires and rotates refresh tokens: unused, absolute, reuse interval', () => {
    const refresh = config.expiry.refreshTokens;
    assert.equal(refresh.disableRotation, false);
    const unused = seconds(refresh.validIfNotUsedFor);
    const absolute = seconds(refresh.absoluteLifetime);
    const reuse = seconds(refresh.reuseInterval);
    assert.ok(unused > 0 && unused <= absolute, 'validIfNotUsedFor within absoluteLifetime');
    assert.ok(absolute <= 90 * 24 * 3600, 'absoluteLifetime at most 90 days');
    assert.ok(reuse > 0 && reuse <= 10, 'a reuse interval of a few seconds');
    assert.ok(seconds(config.expiry.idTokens) <= 3600, 'short ID tokens');
  });

  it('offers the code flow, refresh and the device flow', () => {
    assert.deepEqual(config.oauth2.responseTypes, ['code']);
    assert.deepEqual([...config.oauth2.grantTypes].sort(), ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']);
    assert.notEqual(config.enablePasswordDB, true);
  });

  it('has a connector placeholder whose credentials come from the environment', () => {
    assert.ok(Array.isArray(config.connectors) && config.connectors.length > 0);
    for (const connector of config.connectors) {
      assert.ok(connector.id && connector.type && connector.config);
      assert.match(String(connector.config.clientSecret), /^\$[A-Z][A-Z0-9_]+$/);
    }
  });

  it('holds no literal secret anywhere', () => {
    const literal: string[] = [];
    const visit = (value: unknown, path: string) => {
      if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${path}[${i}]`));
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
      else if (/(secret|password|hash)$/i.test(path) && !/^\$[A-Z][A-Z0-9_]+$/.test(String(value))) literal.push(path);
    };
    visit(config, '');
    assert.deepEqual(literal, []);
    assert.equal(config.staticPasswords, undefined);
  });
});
