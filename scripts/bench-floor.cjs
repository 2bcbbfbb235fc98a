// The floor under a warm `tng exec -- true` on this machine, with no tng code at all: Node's start-up, one
// read of a keychain item through the same library and store tng uses (a Secret Service session, opened
// per process), and spawning the command. `npm run bench` reports it beside tng's own figures.
//
// Usage: node scripts/bench-floor.cjs SERVICE ACCOUNT
'use strict';
const { spawn } = require('node:child_process');
const keyring = require(`@napi-rs/keyring-linux-${process.arch}-gnu`);

const [service, account] = process.argv.slice(2);
new keyring.Entry(service, account, { linux: { store: 'secret-service' } }).getPassword();
spawn('true', [], { stdio: 'inherit' }).on('exit', (code) => process.exit(code ?? 1));
