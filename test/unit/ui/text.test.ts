import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oneLine } from '../../../src/ui/text.ts';

describe('oneLine', () => {
  it('folds whitespace and line breaks into single spaces', () => {
    assert.equal(oneLine('  first\n\n  second\r\n\tthird  '), 'first second third');
  });

  it('shows escape sequences from a server instead of letting them reach the terminal', () => {
    const described = oneLine('access_denied: \u001b]0;PWNED\u0007\u001b[2J\u001b[31mred\u009b1m\u007f');
    assert.equal(described, 'access_denied: \\x1b]0;PWNED\\x07\\x1b[2J\\x1b[31mred\\x9b1m\\x7f');
    assert.ok([...described].every((c) => c.charCodeAt(0) >= 0x20 && (c.charCodeAt(0) < 0x7f || c.charCodeAt(0) > 0x9f)));
  });

  it('keeps printable text of every script as it is', () => {
    assert.equal(oneLine('Vault – ошибка 密 🔑'), 'Vault – ошибка 密 🔑');
  });
});
