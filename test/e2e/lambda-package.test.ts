/**
 * The `tng/lambda` subpath export as `npm run build` leaves it: a file of its own that loads nothing of the
 * CLI, reachable by the package's name (self-reference), with generated type declarations that a strict
 * TypeScript consumer inside the package type-checks against.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ROOT } from './harness.ts';

describe('the tng/lambda package export', () => {
  it('package.json exports ./lambda with a types condition, and the bundle imports only its three dependencies', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    assert.deepEqual(pkg.exports['./lambda'], { types: './dist/lambda/index.d.ts', default: './dist/lambda.js' });
    const bundle = await readFile(join(ROOT, 'dist', 'lambda.js'), 'utf8');
    const imports = [...bundle.matchAll(/\bimport\s*(?:[^'"]*?from\s*)?\(?\s*["']([^"']+)["']/g)].map((m) => m[1]).sort();
    assert.deepEqual(imports, ['@aws-crypto/sha256-js', '@aws-sdk/credential-provider-node', '@smithy/signature-v4']);
    assert.doesNotMatch(bundle, /chunks\/|commander|node-vault|keyring|undici/);
  });

  it('import("tng/lambda") resolves to the built helper', async () => {
    const specifier = 'tng/lambda';
    const helper = (await import(specifier)) as Record<string, unknown>;
    assert.equal(typeof helper.createVaultClient, 'function');
    for (const name of ['LambdaVaultError', 'VaultLoginError', 'VaultRequestError', 'SecretNotFoundError', 'VaultConfigError', 'VaultUnavailableError', 'AwsCredentialsError']) {
      assert.equal(typeof helper[name], 'function', name);
    }
  });

  it('the declarations type-check a strict consumer and catch a wrong use', async () => {
    const dir = await mkdtemp(join(ROOT, '.tmp-lambda-types-'));
    try {
      const file = join(dir, 'handler.ts');
      await writeFile(
        file,
        [
          "import { createVaultClient, SecretNotFoundError, type LambdaVaultOptions } from 'tng/lambda';",
          "const options: LambdaVaultOptions = { role: 'tng-fn', iamServerId: 'vault.example.com', renewBeforeSeconds: 120 };",
          'const vault = createVaultClient(options);',
          'export async function handler(): Promise<string> {',
          "  const secret = await vault.readKv<{ password: string }>('secret', 'tng-fn/config');",
          '  const token: string = await vault.token();',
          '  return `${secret.password.length}${token.length}${SecretNotFoundError.name}`;',
          '}',
          "export const wrong: number = await vault.token();",
          '',
        ].join('\n'),
      );
      const program = ts.createProgram([file], { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: ['node'], skipLibCheck: true });
      const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => `${d.start === undefined ? '' : d.file?.getLineAndCharacterOfPosition(d.start).line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
      assert.deepEqual(diagnostics, ["8: Type 'string' is not assignable to type 'number'."]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
