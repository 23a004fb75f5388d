// package.json agrees with the code: every contributed command is registered and vice versa, the
// settings the code reads are declared, activation covers the briefed events, and the bundle entry
// is where `main` points.
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const src = (f: string): string => readFileSync(path.join(root, 'src', f), 'utf8');

test('contributed commands = registered commands', () => {
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
  const registered = [...src('commands.ts').matchAll(/reg\('(avmd\.[A-Za-z]+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(contributed, ['avmd.openDashboard', 'avmd.restartServer', 'avmd.showRoutes', 'avmd.startDev']);
  assert.deepEqual(registered, contributed);
  // Commands executed by id elsewhere exist too.
  for (const m of src('commands.ts').matchAll(/executeCommand\('(avmd\.[A-Za-z]+)'/g)) assert.ok(contributed.includes(m[1]), m[1]);
  const statusCmd = /statusItem\.command = '([^']+)'/.exec(src('ctx.ts'));
  assert.ok(statusCmd && contributed.includes(statusCmd[1]));
});

test('settings read by the code are declared, with defaults', () => {
  const props = pkg.contributes.configuration.properties;
  const read = [...src('ctx.ts').matchAll(/c\.get<\w+>\('(\w+)'/g)].map((m) => `avmd.${m[1]}`).sort();
  assert.deepEqual(read, ['avmd.dashboardPort', 'avmd.path']);
  for (const k of read) assert.ok(k in props && 'default' in props[k], k);
});

test('activation, engine, entry point', () => {
  assert.equal(pkg.name, 'avmd');
  assert.equal(pkg.engines.vscode, '^1.85.0');
  assert.deepEqual(pkg.activationEvents, ['onLanguage:erlang', 'onLanguage:elixir', 'workspaceContains:avmd.toml']);
  // The languages the activation events and the client's document selector name are declared, so
  // the extension works without another Erlang extension.
  const langs = new Map(pkg.contributes.languages.map((l: { id: string; extensions: string[] }) => [l.id, l.extensions]));
  assert.ok((langs.get('erlang') as string[]).includes('.erl'));
  assert.ok((langs.get('elixir') as string[]).includes('.ex'));
  for (const m of src('ctx.ts').matchAll(/language: '(\w+)'/g)) assert.ok(langs.has(m[1]), m[1]);
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(existsSync(path.join(root, pkg.main)), 'npm test builds dist/extension.js first');
  // `vscode` is provided by the editor, everything else is bundled.
  const bundle = readFileSync(path.join(root, pkg.main), 'utf8');
  assert.match(bundle, /require\("vscode"\)/);
  assert.doesNotMatch(bundle, /require\("vscode-languageclient/);
});
