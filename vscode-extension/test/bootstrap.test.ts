// bootstrap's search order, against real temp dirs and real executables answering --version.
import { strict as assert } from 'node:assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { ServerNotFound, candidates, checkVersion, findServer, projectDirs } from '../src/bootstrap';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'avmd-ext-bootstrap-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A real executable shell script at `dir/avmd` printing `out` for --version. */
function fakeAvmd(dir: string, out: string, mode = 0o755, status = 0): string {
  mkdirSync(dir, { recursive: true });
  const p = path.join(dir, 'avmd');
  writeFileSync(p, `#!/bin/sh\nif [ "$1" = "--version" ]; then printf '%s\\n' '${out}'; exit ${status}; fi\nexit 2\n`);
  chmodSync(p, mode);
  return p;
}

const repoRoot = path.resolve(__dirname, '..', '..', '..');

describe('findServer', () => {
  const onPath = path.join(tmp, 'bin');
  const ws = path.join(tmp, 'ws');
  fakeAvmd(onPath, 'avmd 1.2.3');
  fakeAvmd(path.join(ws, 'target', 'release'), 'avmd 2.0.0');
  fakeAvmd(path.join(ws, 'target', 'debug'), 'avmd 2.0.1-dev');

  test('the setting wins over PATH and the workspace', async () => {
    const own = fakeAvmd(path.join(tmp, 'own'), 'avmd 0.9.0');
    const s = await findServer({ configuredPath: own, envPath: onPath, workspaceFolders: [ws] });
    assert.deepEqual(s, { path: own, version: '0.9.0', source: 'setting' });
  });

  test('a relative setting resolves against the first workspace folder, ~ against home', async () => {
    const s = await findServer({ configuredPath: 'target/debug/avmd', envPath: onPath, workspaceFolders: [ws] });
    assert.equal(s.path, path.join(ws, 'target', 'debug', 'avmd'));
    assert.equal(s.version, '2.0.1-dev');
    const h = await findServer({ configuredPath: '~/bin/avmd', workspaceFolders: [], home: tmp });
    assert.equal(h.path, path.join(onPath, 'avmd'));
  });

  test('a broken setting is an error naming the setting, not a silent fallback', async () => {
    await assert.rejects(
      findServer({ configuredPath: path.join(tmp, 'nope', 'avmd'), envPath: onPath, workspaceFolders: [ws] }),
      (e: Error) => e instanceof ServerNotFound && /avmd\.path/.test(e.message) && /Fix the setting/.test(e.message),
    );
  });

  test('PATH comes before the workspace', async () => {
    const s = await findServer({ envPath: `/nonexistent-dir:${onPath}`, workspaceFolders: [ws] });
    assert.deepEqual(s, { path: path.join(onPath, 'avmd'), version: '1.2.3', source: 'PATH' });
  });

  test('then target/release, then target/debug in the workspace', async () => {
    const s = await findServer({ envPath: '/nonexistent-dir', workspaceFolders: [ws] });
    assert.equal(s.source, 'workspace');
    assert.equal(s.path, path.join(ws, 'target', 'release', 'avmd'));
    const onlyDebug = path.join(tmp, 'ws-debug');
    fakeAvmd(path.join(onlyDebug, 'target', 'debug'), 'avmd 3.1.4');
    const d = await findServer({ envPath: '', workspaceFolders: [onlyDebug] });
    assert.deepEqual(d, { path: path.join(onlyDebug, 'target', 'debug', 'avmd'), version: '3.1.4', source: 'workspace' });
  });

  test('a PATH entry that is not avmd (wrong --version, not executable) is skipped', async () => {
    const impostor = path.join(tmp, 'impostor');
    fakeAvmd(impostor, 'Another Tool 1.0');
    const noExec = path.join(tmp, 'noexec');
    fakeAvmd(noExec, 'avmd 9.9.9', 0o644);
    const failing = path.join(tmp, 'failing');
    fakeAvmd(failing, 'avmd 9.9.8', 0o755, 3);
    const s = await findServer({ envPath: [impostor, noExec, failing, onPath].join(':'), workspaceFolders: [] });
    assert.equal(s.path, path.join(onPath, 'avmd'));
  });

  test('nothing found: the error lists what was tried and names the fix', async () => {
    const impostor = path.join(tmp, 'impostor2');
    fakeAvmd(impostor, 'nope');
    const empty = path.join(tmp, 'empty-ws');
    mkdirSync(empty, { recursive: true });
    await assert.rejects(findServer({ envPath: impostor, workspaceFolders: [empty] }), (e: Error) => {
      assert.ok(e instanceof ServerNotFound);
      assert.match(e.message, /avmd was not found/);
      assert.match(e.message, /target\/release\/avmd/);
      assert.match(e.message, /target\/debug\/avmd/);
      assert.match(e.message, /printed "nope", not "avmd X\.Y\.Z"/);
      assert.match(e.message, /set avmd\.path/);
      assert.match(e.message, /cargo install --path daemon/);
      return true;
    });
  });

  test('relative and empty PATH entries are never searched', () => {
    const c = candidates({ envPath: ':bin:/usr/bin', workspaceFolders: [] });
    assert.deepEqual(c, [{ path: '/usr/bin/avmd', source: 'PATH' }]);
  });

  const realDebug = path.join(repoRoot, 'target', 'debug', 'avmd');
  test('the real target/debug/avmd of this checkout is found and answers --version', { skip: !existsSync(realDebug) }, async () => {
    const v = await checkVersion(realDebug);
    assert.match(v, /^\d+\.\d+\.\d+/);
    // With an empty PATH the workspace search finds it (release first when that exists too).
    const s = await findServer({ envPath: '', workspaceFolders: [repoRoot] });
    assert.equal(s.source, 'workspace');
    assert.ok(s.path.startsWith(path.join(repoRoot, 'target')));
  });
});

describe('projectDirs', () => {
  test('keeps the folders with avmd.toml, rebar.config or mix.exs, in order', async () => {
    const a = path.join(tmp, 'p-a');
    const b = path.join(tmp, 'p-b');
    const c = path.join(tmp, 'p-c');
    for (const d of [a, b, c]) mkdirSync(d, { recursive: true });
    writeFileSync(path.join(a, 'mix.exs'), '');
    writeFileSync(path.join(c, 'avmd.toml'), '');
    mkdirSync(path.join(b, 'rebar.config')); // a directory is not a project file
    assert.deepEqual(await projectDirs([a, b, c, path.join(tmp, 'missing')]), [a, c]);
  });

  test('the example project counts', async () => {
    assert.deepEqual(await projectDirs([path.join(repoRoot, 'examples', 'hello_web')]), [
      path.join(repoRoot, 'examples', 'hello_web'),
    ]);
  });
});
