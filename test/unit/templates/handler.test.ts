import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ROOT, TEMPLATES } from './helpers.ts';

const HANDLER = join(TEMPLATES, 'lambda', 'handler', 'index.ts');
const HELPER = join(ROOT, 'src', 'lambda', 'index.ts');

/** The repo's strictness, with `tng/lambda` resolved to the helper's source as the package export would. */
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules', '@types')],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitReturns: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  verbatimModuleSyntax: true,
  allowImportingTsExtensions: true,
  skipLibCheck: true,
  noEmit: true,
  paths: { 'tng/lambda': [HELPER] },
};

/** Type-checks the handler (or a replacement text for it) and returns the diagnostics as text. */
function typeCheck(replacement?: string): string[] {
  const host = ts.createCompilerHost(OPTIONS);
  if (replacement !== undefined) {
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (fileName, language, onError, shouldCreate) =>
      fileName === HANDLER ? ts.createSourceFile(fileName, replacement, language) : getSourceFile(fileName, language, onError, shouldCreate);
  }
  const program = ts.createProgram([HANDLER], OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

describe('lambda template handler', () => {
  it('type-checks against the real tng/lambda helper (src/lambda/index.ts)', () => {
    assert.ok(existsSync(HELPER), `${HELPER} is the helper the handler imports`);
    assert.deepEqual(typeCheck(), []);
  });

  it('resolves tng/lambda to the helper, so a wrong use of its API fails the check', () => {
    const source = readFileSync(HANDLER, 'utf8');
    const wrong = source.replace('vault.readKv<FunctionSecret>(secretMount, secretPath)', 'vault.readKv<FunctionSecret>(secretPath)');
    assert.notEqual(wrong, source, 'the handler reads its secret with readKv(mount, path)');
    const diagnostics = typeCheck(wrong);
    assert.equal(diagnostics.length, 1, diagnostics.join('\n'));
    assert.match(diagnostics[0] as string, /Expected 2 arguments, but got 1/);
    assert.match(typeCheck(source.replace("from 'tng/lambda'", "from 'tng/lambda-missing'")).join('\n'), /Cannot find module 'tng\/lambda-missing'/);
  });

  it('makes the Vault client once, at module scope, and never logs the secret', () => {
    const source = ts.createSourceFile(HANDLER, readFileSync(HANDLER, 'utf8'), ts.ScriptTarget.ES2022, true);
    const topLevelCalls = source.statements
      .filter(ts.isVariableStatement)
      .flatMap((s) => s.declarationList.declarations)
      .filter((d) => d.initializer !== undefined && ts.isCallExpression(d.initializer) && d.initializer.expression.getText() === 'createVaultClient');
    assert.equal(topLevelCalls.length, 1, 'one createVaultClient() at module scope');

    const handler = source.statements.find((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === 'handler');
    assert.ok(handler?.body, 'an exported handler function');
    assert.match(handler.body.getText(), /await vault\.readKv</, 'reads the secret on each invocation');
    const logged: string[] = [];
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && /^console\./.test(node.expression.getText())) logged.push(node.arguments.map((a) => a.getText()).join(', '));
      ts.forEachChild(node, visit);
    };
    visit(source);
    for (const args of logged) assert.doesNotMatch(args, /\b(secret|key)\b/, `console call logs ${args}`);
  });
});
