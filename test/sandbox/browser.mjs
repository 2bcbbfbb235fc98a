#!/usr/bin/env node
// A scripted "person at a browser" for tests: tng runs it as its $BROWSER, `node test/sandbox/browser.mjs <url>`.
//
// It GETs the URL with a cookie jar, follows redirects by hand, fills the sandbox provider's login form
// (SANDBOX_LOGIN / SANDBOX_PASSWORD, default alice@example.com / password), submits any other form the
// provider shows (device confirmation, auto-submitting form_post pages), and stops at the request that
// leaves the provider for the client's loopback redirect URI: that request (the CLI's loopback listener)
// is "the callback" and its status and body are recorded.
//
// SANDBOX_BROWSER_MODE: login (default) | deny (press Cancel) | wrong-state (first hit the redirect URI
// with ?code=bogus&state=wrong, then log in normally) | replay (log in, then request the callback URL a
// second time) | intercept (before delivering the callback, try to redeem its code at the token endpoint
// without the PKCE verifier and with a wrong one, as a program that intercepted the redirect would) | noop
// (only record the URL).
// SANDBOX_BROWSER_LOG: append one JSON line per run:
//   {"url","mode","steps":[{"url","status"}...],"callback":{"url","status","body"}|null,"extra":[...],"error"?}
// Node builtins only, every request times out after 5 s, the exit status is always 0.

import { appendFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const TIMEOUT_MS = 5000;
const MAX_STEPS = 40;
const BODY_LIMIT = 4000;

const startUrl = process.argv[2];
const mode = process.env.SANDBOX_BROWSER_MODE || 'login';
const login = process.env.SANDBOX_LOGIN || 'alice@example.com';
const password = process.env.SANDBOX_PASSWORD ?? 'password';
const logFile = process.env.SANDBOX_BROWSER_LOG;

const record = { url: startUrl ?? null, mode, steps: [], callback: null, extra: [] };

// ---------------------------------------------------------------- cookies

/** name, value, host (cookies ignore ports, as in browsers), path */
const jar = [];

function defaultCookiePath(pathname) {
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
}

function storeCookies(url, setCookie) {
  for (const line of setCookie ?? []) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = defaultCookiePath(url.pathname);
    let expired = false;
    for (const attr of attrs) {
      const [k, ...v] = attr.split('=');
      const key = k.trim().toLowerCase();
      const val = v.join('=').trim();
      if (key === 'path' && val.startsWith('/')) path = val;
      if (key === 'max-age' && Number(val) <= 0) expired = true;
      if (key === 'expires' && Date.parse(val) <= Date.now()) expired = true;
    }
    const i = jar.findIndex((c) => c.name === name && c.host === url.hostname && c.path === path);
    if (i >= 0) jar.splice(i, 1);
    if (!expired) jar.push({ name, value, host: url.hostname, path });
  }
}

function cookieHeader(url) {
  const p = url.pathname;
  const matching = jar.filter(
    (c) => c.host === url.hostname && (p === c.path || p.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)),
  );
  matching.sort((a, b) => b.path.length - a.path.length);
  return matching.map((c) => `${c.name}=${c.value}`).join('; ');
}

// ---------------------------------------------------------------- HTTP

function request(method, urlString, body) {
  const url = new URL(urlString);
  const mod = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
  if (!mod) return Promise.reject(Object.assign(new Error(`unsupported URL scheme ${url.protocol}`), { code: 'EUNSUPPORTED' }));
  const headers = { 'User-Agent': 'tng-sandbox-browser/1', Accept: 'text/html,application/json;q=0.9,*/*;q=0.8', Connection: 'close' };
  const cookies = cookieHeader(url);
  if (cookies) headers.Cookie = cookies;
  if (body !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        storeCookies(url, res.headers['set-cookie']);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
    }, TIMEOUT_MS);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorCode(err) {
  return (err && (err.code || err.cause?.code)) || (err instanceof Error ? err.message : String(err));
}

/** One extra request whose outcome is recorded (status and body, or the error code). */
async function attempt(kind, method, url, body) {
  try {
    const res = await request(method, url, body);
    return { kind, url, status: res.status, body: res.body.slice(0, BODY_LIMIT) };
  } catch (err) {
    return { kind, url, error: errorCode(err) };
  }
}

// ---------------------------------------------------------------- HTML forms

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'quot') return '"';
    if (k === 'apos') return "'";
    if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
    if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
    return m;
  });
}

function parseAttributes(source) {
  const attrs = {};
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const m of source.matchAll(re)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function parseControls(html) {
  const fields = [];
  const buttons = [];
  for (const m of html.matchAll(/<input\b([^>]*)>/gi)) {
    const a = parseAttributes(m[1]);
    const type = (a.type || 'text').toLowerCase();
    if (type === 'submit' || type === 'image') buttons.push({ name: a.name, value: a.value ?? '', label: a.value ?? '', form: a.form });
    else if (a.name !== undefined) fields.push({ name: a.name, value: a.value ?? '', type, checked: 'checked' in a, form: a.form });
  }
  for (const m of html.matchAll(/<button\b([^>]*)>([\s\S]*?)<\/button>/gi)) {
    const a = parseAttributes(m[1]);
    const type = (a.type || 'submit').toLowerCase();
    if (type !== 'submit') continue;
    buttons.push({ name: a.name, value: a.value ?? '', label: decodeEntities(m[2].replace(/<[^>]*>/g, '')).trim(), form: a.form });
  }
  return { fields, buttons };
}

function parseForms(html, baseUrl) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const a = parseAttributes(m[1]);
    const inner = parseControls(m[2]);
    // controls elsewhere in the page that point at this form with form="id"
    const outside = a.id ? parseControls(html.replace(m[0], '')) : { fields: [], buttons: [] };
    forms.push({
      action: new URL(a.action || baseUrl, baseUrl).href,
      method: (a.method || 'get').toLowerCase(),
      fields: [...inner.fields, ...outside.fields.filter((f) => f.form === a.id)],
      buttons: [...inner.buttons, ...outside.buttons.filter((b) => b.form === a.id)],
    });
  }
  return forms;
}

const CANCEL = /cancel|deny|abort|reject/i;

function isCancelButton(b) {
  return CANCEL.test(`${b.name ?? ''} ${b.value ?? ''} ${b.label ?? ''}`);
}

/** The form submission a person would make: [method, url, body]. */
function submission(form, { overrides = {}, cancel = false } = {}) {
  const params = new URLSearchParams();
  for (const f of form.fields) {
    if ((f.type === 'checkbox' || f.type === 'radio') && !f.checked) continue;
    params.append(f.name, f.name in overrides ? overrides[f.name] : f.value);
  }
  const button = cancel ? form.buttons.find(isCancelButton) : form.buttons.find((b) => !isCancelButton(b));
  if (cancel && !button) throw new Error('the form has no Cancel button');
  if (button?.name) params.append(button.name, button.value ?? '');
  if (form.method === 'post') return ['POST', form.action, params.toString()];
  const u = new URL(form.action);
  u.search = params.toString();
  return ['GET', u.href, undefined];
}

// ---------------------------------------------------------------- the flow

function isLoopback(url) {
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const redirectUris = new Set(); // origin + pathname of every redirect_uri seen in a request URL
let loginSubmitted = false;
let providerOrigin;

function noteRedirectUri(urlString) {
  let added;
  try {
    const ru = new URL(urlString).searchParams.get('redirect_uri');
    if (!ru) return undefined;
    const r = new URL(ru);
    const key = `${r.origin}${r.pathname}`;
    if (!redirectUris.has(key)) {
      redirectUris.add(key);
      added = r;
    }
  } catch {
    // not a URL we understand
  }
  return added;
}

function isCallback(urlString) {
  const u = new URL(urlString);
  if (redirectUris.has(`${u.origin}${u.pathname}`)) return true;
  return loginSubmitted && providerOrigin !== undefined && u.origin !== providerOrigin && isLoopback(u);
}

let wrongStateDone = false;

async function maybeWrongState(redirectUri) {
  if (mode !== 'wrong-state' || wrongStateDone || !redirectUri) return;
  wrongStateDone = true;
  const u = new URL(redirectUri.href);
  u.searchParams.set('code', 'bogus');
  u.searchParams.set('state', 'wrong');
  record.extra.push(await attempt('wrong-state', 'GET', u.href));
}

/**
 * What a program that intercepted the redirect (another app on this machine, a logged URL) could try: redeem
 * the code itself, without the PKCE verifier and with a made-up one. Both outcomes go to `extra`.
 */
async function intercept(callbackUrl) {
  const callback = new URL(callbackUrl);
  const redirectUri = `${callback.origin}${callback.pathname}`;
  const token = new URL('token', startUrl).href;
  const form = (extra) => new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code') ?? '', redirect_uri: redirectUri, client_id: 'tng', ...extra }).toString();
  record.extra.push(await attempt('no-verifier', 'POST', token, form({})));
  record.extra.push(await attempt('wrong-verifier', 'POST', token, form({ code_verifier: 'a'.repeat(43) })));
}

async function run() {
  if (!startUrl) throw new Error('usage: browser.mjs <url>');
  new URL(startUrl); // throws on garbage
  if (mode === 'noop') return;
  if (!['login', 'deny', 'wrong-state', 'replay', 'intercept'].includes(mode)) throw new Error(`unknown SANDBOX_BROWSER_MODE ${mode}`);

  let method = 'GET';
  let url = startUrl;
  let body;
  let loginForms = 0;
  let otherForms = 0;

  for (let step = 0; step < MAX_STEPS; step++) {
    await maybeWrongState(noteRedirectUri(url));

    if (isCallback(url)) {
      if (mode === 'intercept') await intercept(url);
      record.steps.push({ url, status: null, callback: true });
      let res;
      try {
        res = await request(method, url, body);
      } catch (err) {
        record.callback = { url, error: errorCode(err) };
        record.steps.at(-1).error = errorCode(err);
        return;
      }
      record.steps.at(-1).status = res.status;
      record.callback = { url, status: res.status, body: res.body.slice(0, BODY_LIMIT) };
      if (mode === 'replay') record.extra.push(await attempt('replay', method, url, body));
      return;
    }

    const res = await request(method, url, body);
    const entry = { url, status: res.status };
    if (method !== 'GET') entry.method = method;
    record.steps.push(entry);

    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && location) {
      const target = new URL(location, url).href;
      if (res.status === 307 || res.status === 308) {
        url = target;
      } else {
        method = 'GET';
        body = undefined;
        url = target;
      }
      continue;
    }

    const type = String(res.headers['content-type'] ?? '');
    const forms = type.includes('html') ? parseForms(res.body, url) : [];
    const loginForm = forms.find((f) => f.fields.some((x) => x.type === 'password'));

    if (loginForm) {
      if (loginSubmitted) {
        const msg = /class="error"[^>]*>([^<]*)</.exec(res.body);
        throw new Error(`the login form came back${msg ? `: ${decodeEntities(msg[1]).trim()}` : ''}`);
      }
      if (++loginForms > 1) throw new Error('the login form came back');
      providerOrigin = new URL(url).origin;
      if (mode === 'wrong-state' && !wrongStateDone) {
        wrongStateDone = true;
        if (redirectUris.size === 0) record.extra.push({ kind: 'wrong-state', error: 'no redirect_uri seen before the login form' });
      }
      const passwordField = loginForm.fields.find((x) => x.type === 'password');
      const loginField = loginForm.fields.find((x) => x.name === 'login')
        ?? loginForm.fields.find((x) => ['text', 'email'].includes(x.type));
      const overrides = {};
      if (loginField) overrides[loginField.name] = login;
      overrides[passwordField.name] = password;
      [method, url, body] = submission(loginForm, { overrides, cancel: mode === 'deny' });
      loginSubmitted = true;
      continue;
    }

    // Forms with nothing to type in: the device confirmation, an auto-submitting form_post page, ...
    // A form that wants input (e.g. an empty user-code field) ends the flow instead.
    const form = forms.find((f) => f.fields.length > 0 && f.fields.every((x) => x.type === 'hidden'));
    if (form && ++otherForms <= 5) {
      [method, url, body] = submission(form);
      continue;
    }

    // a page with nothing to do: the end of the flow (e.g. the device flow's success page)
    record.final = { url, status: res.status, body: res.body.slice(0, BODY_LIMIT) };
    if (mode === 'wrong-state' && !wrongStateDone) {
      record.extra.push({ kind: 'wrong-state', error: 'no redirect_uri seen' });
    }
    return;
  }
  throw new Error(`gave up after ${MAX_STEPS} steps`);
}

try {
  await run();
} catch (err) {
  record.error = err instanceof Error ? err.message : String(err);
}

if (logFile) {
  try {
    appendFileSync(logFile, `${JSON.stringify(record)}\n`);
  } catch (err) {
    process.stderr.write(`sandbox browser: cannot write ${logFile}: ${errorCode(err)}\n`);
  }
} else if (record.error) {
  process.stderr.write(`sandbox browser: ${record.error}\n`);
}
