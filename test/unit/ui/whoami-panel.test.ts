import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WhoamiReport } from '../../../src/session/whoami.ts';
import { renderWhoami } from '../../../src/ui/ink/whoami-panel.tsx';

const now = Date.parse('2025-01-01T12:00:00Z');
const report: WhoamiReport = {
  profile: 'work',
  hardware: { credential_id: 'AQVMKMjnVTOCabcdefgh', aaguid: 'cb69481e-8ff7-4039-93ec-0a2729a154a8', last_touch: '2025-01-01T11:57:00Z' },
  oidc: { issuer: 'https://dex.example.com/dex', subject: 'CgVhbGljZQ', email: 'alice@example.com', groups: ['engineers'], expires_at: '2025-01-02T12:00:00Z' },
  vault: { addr: 'https://vault.example.com', accessor: 'acc', display_name: 'jwt-alice', policies: ['default', 'engineer'], entity_id: 'e', expires_at: '2025-01-01T12:05:00Z', renewable: true },
  aws: { arn: 'arn:aws:sts::123456789012:assumed-role/deploy/tng-x', account: '123456789012', user_id: 'u', access_key_id: 'ASIA', expires_at: '2025-01-01T11:59:00Z' },
  audit: { entries: 7, verified: true, last_id: '3f2a9c1e-0000-0000-0000-000000000000' },
};

describe('the whoami panel', () => {
  it('shows each link of the chain with the time left, in a box, without colour when colour is off', () => {
    const text = renderWhoami(report, now, { colour: false, columns: 100 });
    assert.ok(!text.includes('\u001b'), text);
    const lines = text.split('\n');
    assert.match(lines[0] ?? '', /^╭─+╮$/);
    assert.match(text, /│ tng whoami · profile work +│/);
    assert.match(text, /│ Hardware {2}YubiKey 5 Series · credential AQVMKMjnVTOC… · last touch 3m ago +│/);
    assert.match(text, /│ Identity {2}alice@example\.com · groups engineers · ID token 24h00m left +│/);
    assert.match(text, /│ {11}https:\/\/dex\.example\.com\/dex +│/);
    assert.match(text, /│ Vault {5}jwt-alice · policies default, engineer · token 5m left \(renewable\) +│/);
    assert.match(text, /│ AWS {7}arn:aws:sts::123456789012:assumed-role\/deploy\/tng-x · credentials expired +│/);
    assert.match(text, /│ Audit {5}7 entries · chain verified · last 3f2a9c1e… +│/);
    assert.match(lines.at(-1) ?? '', /^╰─+╯$/);
  });

  it('colours the time left: yellow when short, red when gone', () => {
    const text = renderWhoami(report, now, { colour: true, columns: 100 });
    assert.ok(text.includes('\u001b[33m5m\u001b[39m left'), text);
    assert.ok(text.includes('\u001b[31mexpired\u001b[39m'), text);
    assert.ok(text.includes('\u001b[32m24h00m\u001b[39m left'), text);
  });

  it('an empty chain says what is missing', () => {
    const text = renderWhoami({ ...report, hardware: null, aws: null, audit: { entries: 0, verified: true, last_id: null } }, now, { colour: false, columns: 100 });
    assert.match(text, /Hardware {2}no security key enrolled \(tng enroll\)/);
    assert.match(text, /AWS {7}no AWS credentials issued/);
    assert.match(text, /Audit {5}0 entries · chain verified +│/);
  });
});

describe('the whoami panel on a narrow terminal', () => {
  it('stays within the terminal and wraps long lines inside the box', () => {
    const text = renderWhoami(report, now, { colour: true, columns: 60 });
    const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
    for (const line of text.split('\n')) assert.ok([...line.replace(SGR, '')].length <= 60, line);
    const plain = text.replace(SGR, '');
    assert.match(plain, /│ AWS {7}arn:aws:sts::123456789012:assumed-role\/deploy\/ │\n│ {11}tng-x · credentials expired +│/);
    assert.match(plain, /╰─{58}╯$/);
  });
});
