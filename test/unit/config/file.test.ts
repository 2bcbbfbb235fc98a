import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { describe, it } from 'node:test';
import { loadProfile, readConfigFile, selectProfileName, writeConfigFile } from '../../../src/config/file.ts';
import { cacheDir, resolvePaths } from '../../../src/config/paths.ts';
import { tempDirs } from '../../temp-dirs.ts';

const newDir = tempDirs('config');

const table = { issuer: 'https://dex.example.com/dex', client_id: 'tng', vault_addr: 'https://vault.example.com', vault_role: 'engineer' };

describe('config paths', () => {
  it('follows TNG_CONFIG / XDG / HOME in that order', () => {
    assert.deepEqual(resolvePaths({}, '/home/u'), { config: '/home/u/.config/tng/config.toml', state: '/home/u/.local/state/tng' });
    assert.deepEqual(resolvePaths({ XDG_CONFIG_HOME: '/x/c', XDG_STATE_HOME: '/x/s' }, '/home/u'), { config: '/x/c/tng/config.toml', state: '/x/s/tng' });
    assert.deepEqual(resolvePaths({ TNG_CONFIG: '/c.toml', TNG_STATE_DIR: '/s', XDG_CONFIG_HOME: '/x' }, '/home/u'), { config: '/c.toml', state: '/s' });
  });

  it('ignores a relative XDG dir, as the XDG spec says, for the config, the state and the cache alike', () => {
    const env = { XDG_CONFIG_HOME: 'rel/c', XDG_STATE_HOME: './s', XDG_CACHE_HOME: 'cache' };
    assert.deepEqual(resolvePaths(env, '/home/u'), { config: '/home/u/.config/tng/config.toml', state: '/home/u/.local/state/tng' });
    assert.equal(cacheDir(env, '/home/u'), '/home/u/.cache/tng');
    assert.equal(cacheDir({ XDG_CACHE_HOME: '/x/cache' }, '/home/u'), '/x/cache/tng');
  });

  it('takes an empty HOME as unset, never as a home relative to the working dir', () => {
    const expected = resolvePaths({}, homedir());
    assert.ok(isAbsolute(expected.config) && isAbsolute(expected.state));
    assert.deepEqual(resolvePaths({ HOME: '' }), expected);
    assert.equal(cacheDir({ HOME: '' }), join(homedir(), '.cache', 'tng'));
  });
});

describe('profile selection', () => {
  const config = { default_profile: 'b', profiles: { a: table, b: table } };
  it('prefers --profile, then TNG_PROFILE, then default_profile, then the only profile', () => {
    assert.equal(selectProfileName(config, 'a', { TNG_PROFILE: 'b' }), 'a');
    assert.equal(selectProfileName(config, undefined, { TNG_PROFILE: 'a' }), 'a');
    assert.equal(selectProfileName(config, undefined, {}), 'b');
    assert.equal(selectProfileName({ profiles: { only: table } }, undefined, {}), 'only');
    assert.throws(() => selectProfileName({ profiles: { a: table, b: table } }, undefined, {}), /Several profiles/);
    assert.throws(() => selectProfileName({ profiles: {} }, undefined, {}), /No profile is configured/);
    assert.throws(() => selectProfileName(config, '../etc', {}), /not a valid profile name/);
  });
});

describe('config file', () => {
  it('round-trips through an atomic 0600 write and loads the profile', async () => {
    const dir = await newDir();
    const path = join(dir, 'nested', 'config.toml');
    await writeConfigFile(path, { default_profile: 'work', profiles: { work: { ...table, scopes: ['openid'] } } });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700);
    assert.match(await readFile(path, 'utf8'), /\[profiles\.work\]/);
    const back = await readConfigFile(path);
    assert.equal(back.default_profile, 'work');
    const profile = await loadProfile(path, undefined, {});
    assert.deepEqual(profile.scopes, ['openid']);
    await assert.rejects(loadProfile(path, 'nope', {}), /Unknown profile "nope" \(known: work\)/);
  });

  it('treats a missing file as empty', async () => {
    assert.deepEqual(await readConfigFile('/nonexistent/tng/config.toml'), { profiles: {} });
  });
});
