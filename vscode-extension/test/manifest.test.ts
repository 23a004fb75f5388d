// package.json agrees with the code: every contributed command is registered and vice versa, the
// settings the code reads are declared, activation covers the briefed events, and the bundle entry
// is where `main` points.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const src = (f: string): string => readFileSync(path.join(root, 'src', f), 'utf8');

test('contributed commands = registered commands', () => {
  const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
  const files = ['commands.ts', 'device_commands.ts'];
  const registered = files.flatMap((f) => [...src(f).matchAll(/reg\('(avmd\.[A-Za-z]+)'/g)].map((m) => m[1])).sort();
  assert.deepEqual(registered, contributed);
  for (const id of ['avmd.build', 'avmd.startDev', 'avmd.stopDev', 'avmd.openApp', 'avmd.openDashboard', 'avmd.push',
    'avmd.pushOutdated', 'avmd.selectDevice', 'avmd.deviceConsole', 'avmd.startSim']) assert.ok(contributed.includes(id), id);
  // Commands executed by id elsewhere, and those the views and the status item name, exist too.
  for (const f of [...files, 'views.ts', 'ctx.ts']) {
    for (const m of src(f).matchAll(/(?:executeCommand\(|command: |\.command = )'(avmd\.[A-Za-z]+)'/g)) assert.ok(contributed.includes(m[1]), `${f}: ${m[1]}`);
  }
  // Menus, the walkthrough and the welcome view name only contributed commands and declared views.
  const views = pkg.contributes.views.avmd.map((v: { id: string }) => v.id);
  assert.deepEqual(views, ['avmd.routes', 'avmd.devices']);
  for (const s of [...src('ctx.ts').matchAll(/createTreeView\('([\w.]+)'/g)]) assert.ok(views.includes(s[1]), s[1]);
  const menus = Object.values(pkg.contributes.menus).flat() as { command: string }[];
  for (const m of menus) assert.ok(contributed.includes(m.command), m.command);
  const linked = JSON.stringify(pkg.contributes.walkthroughs) + JSON.stringify(pkg.contributes.viewsWelcome);
  for (const m of linked.matchAll(/command:(avmd\.[A-Za-z]+)/g)) assert.ok(contributed.includes(m[1]), m[1]);
  for (const step of pkg.contributes.walkthroughs[0].steps) assert.ok(existsSync(path.join(root, step.media.markdown)), step.media.markdown);
});

test('the package has what vsce needs and only what it needs', () => {
  for (const k of ['repository', 'license', 'icon', 'publisher', 'version']) assert.ok(pkg[k], k);
  assert.ok(existsSync(path.join(root, pkg.icon)));
  assert.ok(existsSync(path.join(root, 'LICENSE')));
  const ignore = readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  assert.match(ignore, /^\*\*$/m, 'everything is excluded first');
  assert.match(ignore, /^!dist\/extension\.js$/m);
});

test('settings read by the code are declared, with defaults', () => {
  const props = pkg.contributes.configuration.properties;
  const read = [...src('ctx.ts').matchAll(/c\.get<\w+>\('(\w+)'/g)].map((m) => `avmd.${m[1]}`).sort();
  assert.deepEqual(read, ['avmd.dashboardPort', 'avmd.defaultDevice', 'avmd.path', 'avmd.profile', 'avmd.vm']);
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

test('vsce packs only the bundle, the manifest, the README, the licence and media/', () => {
  const vsce = path.join(root, 'node_modules', '.bin', 'vsce');
  const listed = execFileSync(vsce, ['ls', '--no-dependencies'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
  const other = listed.filter((f) => !f.startsWith('media/'));
  assert.deepEqual(other, ['LICENSE', 'README.md', 'dist/extension.js', 'package.json']);
  assert.ok(listed.includes('media/icon.png') && listed.includes('media/avmd.svg'), listed.join(', '));
});
