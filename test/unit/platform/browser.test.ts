import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { browserCommand } from '../../../src/platform/browser.ts';

describe('browserCommand', () => {
  it('splits $BROWSER as a shell would', () => {
    assert.deepEqual(browserCommand({ BROWSER: 'firefox' }), ['firefox']);
    assert.deepEqual(browserCommand({ BROWSER: `"/opt/My Browser/bin" --new-window 'a b'` }), ['/opt/My Browser/bin', '--new-window', 'a b']);
    assert.deepEqual(browserCommand({ BROWSER: '$HOME/bin/open-url', HOME: '/home/u' }), ['/home/u/bin/open-url']);
  });
  it('falls back to the platform opener', () => {
    assert.deepEqual(browserCommand({}, 'linux'), ['xdg-open']);
    assert.deepEqual(browserCommand({ BROWSER: '  ' }, 'darwin'), ['open']);
    assert.equal(browserCommand({}, 'win32')[0], 'cmd');
  });
});
