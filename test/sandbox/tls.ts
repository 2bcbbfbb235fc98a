// A throw-away PKI for the sandbox: a CA, a server certificate signed by it, and a second, unrelated CA
// (for "wrong CA" tests). Generated with the `openssl` command line (EC P-256, SHA-256, one day valid), so
// the tests need no certificate library.
//
//   const pki = await createTestPki({ names: ['vault.sandbox.test', 'localhost', '127.0.0.1', '::1'] });
//   const vault = await startVaultSandbox({ tls: pki, publicHost: 'vault.sandbox.test' });
//   ... VAULT_CACERT=pki.caPath ...
//   await pki.remove();
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPkiOptions {
  /** Where the files go (created if missing, kept by remove()). Default: a new directory under the OS temp dir. */
  dir?: string;
  /** DNS names and IP addresses for the server certificate's subjectAltName; the first DNS name is also its CN. */
  names: string[];
}

export interface TestPki {
  /** The CA certificate (PEM) that signed the server certificate. */
  caPem: string;
  /** `ca.pem` in `dir`. */
  caPath: string;
  /** The server certificate (PEM), leaf only. */
  certPem: string;
  /** The server key (PKCS#8 PEM). */
  keyPem: string;
  /** `server.pem` and `server-key.pem` in `dir`. */
  certPath: string;
  keyPath: string;
  dir: string;
  /** `other-ca.pem`: a CA that signed nothing here. */
  otherCaPath: string;
  /** Deletes the directory if createTestPki made it, else only the files it wrote there. */
  remove(): Promise<void>;
}

const DNS_NAME = /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function openssl(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        reject(new Error(missing ? 'the openssl command is not installed (Debian: apt-get install openssl)' : `openssl ${args[0]} failed: ${stderr.trim() || err.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

/** The configuration `openssl req` and `openssl x509 -extfile` read; every value is validated first. */
function opensslConfig(dnsNames: string[], ips: string[]): string {
  const alt = [...dnsNames.map((name, i) => `DNS.${i + 1} = ${name}`), ...ips.map((ip, i) => `IP.${i + 1} = ${ip}`)];
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'O = tng sandbox',
    '',
    '[ca_ext]',
    'basicConstraints = critical, CA:TRUE, pathlen:0',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
    '',
    '[server_ext]',
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid, issuer',
    'subjectAltName = @alt_names',
    '',
    '[alt_names]',
    ...alt,
    '',
  ].join('\n');
}

function serial(): string {
  // Positive, 16 bytes: the top bit cleared so DER needs no sign byte.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

async function newKey(cwd: string, path: string): Promise<string> {
  const pem = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'], cwd);
  await writeFile(path, pem, { mode: 0o600 });
  await chmod(path, 0o600); // writeFile's mode only applies to new files
  return pem;
}

async function newCa(cwd: string, name: string, keyFile: string, certFile: string): Promise<void> {
  await newKey(cwd, join(cwd, keyFile));
  await openssl(
    ['req', '-config', 'openssl.cnf', '-new', '-x509', '-key', keyFile, '-sha256', '-days', '1', '-set_serial', serial(), '-subj', `/O=tng sandbox/CN=${name}`, '-extensions', 'ca_ext', '-out', certFile],
    cwd,
  );
}

export async function createTestPki(options: TestPkiOptions): Promise<TestPki> {
  const dnsNames: string[] = [];
  const ips: string[] = [];
  for (const name of options.names) {
    if (isIP(name)) ips.push(name);
    else if (DNS_NAME.test(name) && name.length <= 253) dnsNames.push(name.toLowerCase());
    else throw new Error(`createTestPki: "${name}" is neither a DNS name nor an IP address`);
  }
  if (dnsNames.length + ips.length === 0) throw new Error('createTestPki: names must not be empty');

  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tng-pki-')));
  if (!ownDir) await mkdir(dir, { recursive: true, mode: 0o700 });
  const files = ['openssl.cnf', 'ca-key.pem', 'ca.pem', 'server-key.pem', 'server.csr', 'server.pem', 'other-ca-key.pem', 'other-ca.pem'];
  const remove = async (): Promise<void> => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    else await Promise.all(files.map((f) => rm(join(dir, f), { force: true })));
  };

  try {
    await writeFile(join(dir, 'openssl.cnf'), opensslConfig(dnsNames, ips));
    await newCa(dir, 'tng sandbox CA', 'ca-key.pem', 'ca.pem');
    await newCa(dir, 'tng sandbox unrelated CA', 'other-ca-key.pem', 'other-ca.pem');

    const keyPem = await newKey(dir, join(dir, 'server-key.pem'));
    const cn = dnsNames[0] ?? 'tng sandbox server';
    await openssl(['req', '-config', 'openssl.cnf', '-new', '-key', 'server-key.pem', '-sha256', '-subj', `/O=tng sandbox/CN=${cn}`, '-out', 'server.csr'], dir);
    await openssl(
      ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-set_serial', serial(), '-days', '1', '-sha256', '-extfile', 'openssl.cnf', '-extensions', 'server_ext', '-out', 'server.pem'],
      dir,
    );

    return {
      caPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
      caPath: join(dir, 'ca.pem'),
      certPem: await readFile(join(dir, 'server.pem'), 'utf8'),
      keyPem,
      certPath: join(dir, 'server.pem'),
      keyPath: join(dir, 'server-key.pem'),
      dir,
      otherCaPath: join(dir, 'other-ca.pem'),
      remove,
    };
  } catch (err) {
    await remove();
    throw err;
  }
}
