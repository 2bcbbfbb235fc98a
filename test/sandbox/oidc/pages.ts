// HTML pages of the sandbox OIDC provider: the login form, the device-flow pages and the error page.
// Plain, dependency-free markup that a person (or test/sandbox/browser.mjs) can use.

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}label{display:block;margin:.8em 0 .2em}input[type=text],input[type=password]{width:100%;padding:.4em;box-sizing:border-box}
button{margin:1em .5em 0 0;padding:.4em 1.2em}.error{color:#b00020}.hint{color:#666;font-size:.9em}`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body>
</html>
`;
}

export interface LoginPageOptions {
  action: string;
  login?: string;
  error?: string;
  clientId?: string;
}

/** "Log in to tng sandbox": fields `login` and `password`, buttons Log In and Cancel. */
export function loginPage(o: LoginPageOptions): string {
  return page('Log in to tng sandbox', `<h1>Log in to tng sandbox</h1>
${o.clientId ? `<p class="hint">Client <code>${escapeHtml(o.clientId)}</code> is asking you to log in.</p>` : ''}
${o.error ? `<p class="error" role="alert">${escapeHtml(o.error)}</p>` : ''}
<form method="post" action="${escapeHtml(o.action)}">
  <label for="login">Email Address</label>
  <input type="text" id="login" name="login" value="${escapeHtml(o.login ?? '')}" autocomplete="username" autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password">
  <button type="submit" name="action" value="login">Log In</button>
  <button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`);
}

/** Wraps oidc-provider's device user-code input form (it brings its own hidden xsrf field). */
export function deviceCodeInputPage(form: string, error?: string): string {
  const withButton = form.replace(/<\/form>\s*$/, '  <button type="submit">Continue</button>\n</form>');
  return page('Enter the code shown on your device', `<h1>Enter the code shown on your device</h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
${withButton}`);
}

/** Wraps oidc-provider's device confirmation form (hidden xsrf, user_code, confirm=yes). */
export function deviceConfirmPage(form: string, clientId: string, userCode: string): string {
  const withButtons = form.replace(
    /<\/form>\s*$/,
    '  <button type="submit">Continue</button>\n  <button type="submit" name="abort" value="yes">Cancel</button>\n</form>',
  );
  return page('Confirm device login', `<h1>Confirm device login</h1>
<p>Client <code>${escapeHtml(clientId)}</code> shows the code <strong>${escapeHtml(userCode)}</strong>.</p>
${withButtons}`);
}

export function deviceSuccessPage(clientId: string): string {
  return page('Login successful', `<h1>Login successful</h1>
<p>You are logged in to <code>${escapeHtml(clientId)}</code>. Return to your device to continue; you can close this window.</p>`);
}

export function errorPage(fields: Record<string, unknown>): string {
  const rows = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`)
    .join('\n');
  return page('tng sandbox: error', `<h1>Something went wrong</h1>\n${rows}`);
}
