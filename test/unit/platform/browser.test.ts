import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserCommand, openerArgv } from '../../../src/platform/browser.ts';

describe('browserCommand', () => {
  it('splits $BROWSER as a shell would', () => {
    assert.deepEqual(browserCommand({ BROWSER: 'firefox' }), ['firefox']);
    assert.deepEqual(browserCommand({ BROWSER: `"/opt/My Browser/bin" --new-window 'a b'` }), ['/opt/My Browser/bin', '--new-window', 'a b']);
    assert.deepEqual(browserCommand({ BROWSER: '$HOME/bin/open-url', HOME: '/home/u' }), ['/home/u/bin/open-url']);
    assert.deepEqual(browserCommand({ BROWSER: '~/bin/open-url --new-tab', HOME: '/home/u' }), ['/home/u/bin/open-url', '--new-tab']);
    assert.deepEqual(browserCommand({ BROWSER: 'open-url ~other/x ~', HOME: '/home/u' }), ['open-url', '~other/x', '/home/u']);
    assert.deepEqual(browserCommand({ BROWSER: 'node $UNSET_FLAGS /opt/open-url.mjs', HOME: '/home/u' }), ['node', '/opt/open-url.mjs']);
  });
  it('keeps a glob word as written, stops at a comment, and refuses what needs a shell', () => {
    assert.deepEqual(browserCommand({ BROWSER: 'open-url --profile=work* --new-tab' }), ['open-url', '--profile=work*', '--new-tab']);
    assert.deepEqual(browserCommand({ BROWSER: 'firefox # the work browser' }), ['firefox']);
    for (const value of ['firefox && echo opened', 'firefox | tee log', 'firefox; true', 'firefox > /tmp/x']) assert.equal(browserCommand({ BROWSER: value }), undefined, value);
  });

  it('puts the URL in place of %s, as the $BROWSER convention has it, else after the last word', () => {
    const url = 'https://dex.example/auth?client_id=tng&state=x';
    assert.deepEqual(openerArgv(['firefox', '--new-window'], url), ['firefox', '--new-window', url]);
    assert.deepEqual(openerArgv(['firefox', '-url', '%s'], url), ['firefox', '-url', url]);
    assert.deepEqual(openerArgv(['open-url', '--target=%s'], url), ['open-url', `--target=${url}`]);
  });

  it('falls back to the platform opener', () => {
    assert.deepEqual(browserCommand({}, 'linux'), ['xdg-open']);
    assert.deepEqual(browserCommand({ BROWSER: '  ' }, 'darwin'), ['open']);
    assert.equal(browserCommand({}, 'win32')?.[0], 'cmd');
  });
});
