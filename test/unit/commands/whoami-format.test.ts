import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWhoami } from '../../../src/commands/whoami.ts';
import type { WhoamiReport } from '../../../src/session/whoami.ts';

const now = Date.parse('2026-11-23T12:00:00Z');
const report: WhoamiReport = {
  profile: 'work',
  hardware: null,
  oidc: { issuer: 'https://dex.example.com/dex', subject: 'sub', email: 'alice@example.com', groups: ['eng'], expires_at: '2026-11-24T12:00:00.000Z' },
  vault: { addr: 'https://vault.example.com', accessor: 'acc', display_name: 'jwt-alice', policies: ['default'], entity_id: 'e', expires_at: '2026-11-23T12:14:05.000Z', renewable: true },
  aws: { arn: 'arn:aws:sts::123456789012:assumed-role/deploy/tng-x', account: '123456789012', user_id: '', access_key_id: 'ASIA', expires_at: '2026-11-23T11:56:50.000Z' },
  audit: { entries: 2, verified: true, last_id: 'id-2' },
};

describe('whoami without a live terminal', () => {
  it('says how long each credential has left, and how long ago one expired', () => {
    const lines = formatWhoami(report, now);
    assert.match(lines[2] ?? '', /ID token expires in 24h00m$/);
    assert.match(lines[3] ?? '', /token expires in 14m05s \(renewable\)$/);
    assert.match(lines[4] ?? '', /credentials expired 3m10s ago$/);
    assert.match(formatWhoami({ ...report, oidc: { ...report.oidc, expires_at: null } }, now)[2] ?? '', /ID token expires at an unknown time$/);
  });
});
