import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clockCheck, describeSkew, skewFromDateHeader, skewFromEpochSeconds, type SkewSample } from '../../../src/doctor/clock.ts';

const at = (iso: string) => Date.parse(iso);

describe('clock skew from a server time', () => {
  it('compares the middle of the Date header\'s second with the middle of the round trip', () => {
    // Sent at :00.100, answered at :00.900 local; the server said :00 (i.e. somewhere in :00.000–:00.999).
    const exchange = { sentAt: at('2025-03-01T12:00:00.100Z'), receivedAt: at('2025-03-01T12:00:00.900Z') };
    assert.equal(skewFromDateHeader('Sat, 01 Mar 2025 12:00:00 GMT', exchange), 0);
  });

  it('is positive when the local clock is ahead and negative when it is behind', () => {
    const exchange = { sentAt: at('2025-03-01T12:00:00.400Z'), receivedAt: at('2025-03-01T12:00:00.600Z') };
    assert.equal(skewFromDateHeader('Sat, 01 Mar 2025 11:55:00 GMT', exchange), 300);
    assert.equal(skewFromDateHeader('Sat, 01 Mar 2025 12:05:00 GMT', exchange), -300);
  });

  it('ignores a missing or unparsable Date header', () => {
    const exchange = { sentAt: 0, receivedAt: 10 };
    assert.equal(skewFromDateHeader(null, exchange), undefined);
    assert.equal(skewFromDateHeader('', exchange), undefined);
    assert.equal(skewFromDateHeader('yesterday-ish', exchange), undefined);
  });

  it('reads Vault\'s server_time_utc in whole seconds, and ignores anything else', () => {
    const exchange = { sentAt: at('2025-03-01T12:00:10.000Z'), receivedAt: at('2025-03-01T12:00:11.000Z') };
    const serverSeconds = at('2025-03-01T12:00:40.000Z') / 1000;
    assert.equal(skewFromEpochSeconds(serverSeconds, exchange), -30);
    assert.equal(skewFromEpochSeconds(undefined, exchange), undefined);
    assert.equal(skewFromEpochSeconds('1740830440', exchange), undefined);
    assert.equal(skewFromEpochSeconds(0, exchange), undefined);
  });

  it('words a skew for people', () => {
    assert.equal(describeSkew(0.4, 'Vault'), 'in step with Vault');
    assert.equal(describeSkew(-300.2, 'Vault'), '300 s behind Vault');
    assert.equal(describeSkew(42, 'the issuer'), '42 s ahead of the issuer');
  });
});

describe('the clock check', () => {
  const sample = (server: string, skewSeconds: number, via: SkewSample['via'] = 'Date header'): SkewSample => ({
    server,
    url: server === 'Vault' ? 'http://127.0.0.1:8200' : 'http://127.0.0.1:5556/dex',
    via,
    skewSeconds,
  });

  it('is ok within ±30 s, naming both servers', () => {
    const check = clockCheck([sample('the issuer', 1), sample('Vault', -29.6), sample('Vault', -2, 'server_time_utc')]);
    assert.equal(check.status, 'ok');
    assert.equal(check.hint, null);
    assert.match(check.detail, /1 s ahead of the issuer/);
    assert.match(check.detail, /30 s behind Vault/);
  });

  it('warns past 30 s naming the server, its address and the skew in seconds', () => {
    const check = clockCheck([sample('the issuer', 0), sample('Vault', 2), sample('Vault', 300.4, 'server_time_utc')]);
    assert.equal(check.status, 'warn');
    assert.match(check.detail, /the local clock is 300 s ahead of Vault at http:\/\/127\.0\.0\.1:8200 \(server_time_utc\)/);
    assert.doesNotMatch(check.detail, /issuer/);
    // The issuer agrees with this machine, so Vault's clock is the suspect.
    assert.match(check.hint ?? '', /agrees with the issuer.*clock of Vault/);
  });

  it('when every server disagrees, the hint is to sync this machine', () => {
    const check = clockCheck([sample('the issuer', -31), sample('Vault', -45)]);
    assert.equal(check.status, 'warn');
    assert.match(check.detail, /31 s behind the issuer/);
    assert.match(check.detail, /45 s behind Vault/);
    assert.match(check.hint ?? '', /time synchronisation on this machine/);
  });

  it('is skipped when no server reported a time', () => {
    const check = clockCheck([], 'skipped: neither the issuer nor Vault answered');
    assert.equal(check.status, 'skip');
    assert.equal(check.detail, 'skipped: neither the issuer nor Vault answered');
  });
});
