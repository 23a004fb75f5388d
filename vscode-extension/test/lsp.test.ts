// The `avmd/routes` contract against the real server: `avmd lsp --stdio` (the arguments VS Code's
// stdio transport passes) spoken to with vscode-jsonrpc, the library the language client uses, on a
// temporary copy of examples/hello_web. Skipped when this checkout's avmd has no `lsp` subcommand.
import { strict as assert } from 'node:assert';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { MessageConnection, StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';

import { ROUTES_METHOD, parseRoutes } from '../src/lsp_ext';
import { routeItems, relativeTo } from '../src/route_items';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const avmd = path.join(repoRoot, 'target', 'debug', 'avmd');

function hasLsp(): boolean {
  if (!existsSync(avmd)) return false;
  try {
    return /^\s+lsp\b/m.test(execFileSync(avmd, ['help'], { encoding: 'utf8', timeout: 10_000 }));
  } catch {
    return false;
  }
}

let child: ChildProcess | undefined;
let conn: MessageConnection | undefined;
let scratch: string | undefined;
after(() => {
  conn?.dispose();
  child?.kill();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// The first build boots a compile VM; the timeout only stops a hung server, it asserts nothing.
test('avmd/routes on hello_web matches the extension\'s types', { skip: !hasLsp(), timeout: 180_000 }, async () => {
  scratch = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'avmd-ext-lsp-')));
  cpSync(path.join(repoRoot, 'examples', 'hello_web'), scratch, {
    recursive: true,
    filter: (src) => path.basename(src) !== '_build',
  });
  child = spawn(avmd, ['lsp', '--stdio'], { cwd: scratch, stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  conn.listen();
  const rootUri = pathToFileURL(scratch).toString();
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'hello_web' }],
    capabilities: {},
  });
  await conn.sendNotification('initialized', {});

  const routes = parseRoutes(await conn.sendRequest(ROUTES_METHOD, {}));
  const items = routeItems(routes, (uri) => relativeTo([scratch!], uri));
  const byPath = new Map(items.map((i) => [i.label, i]));
  const items_ = byPath.get('/api/items/:id');
  assert.ok(items_, `routes: ${items.map((i) => i.label).join(' ')}`);
  assert.equal(items_.description, 'GET, PUT, DELETE');
  assert.equal(items_.route.handler, 'httpd_api_handler');
  assert.equal(items_.route.target, 'hello_web_api');
  assert.match(items_.detail, /^httpd_api_handler → hello_web_api — src\/hello_web\.erl:\d+$/);
  assert.equal(byPath.get('/ws/echo')?.description, 'any method');
  assert.equal(byPath.get('/')?.route.target, undefined);
  // The range points at the tuple in the start module.
  const src = readFileSync(path.join(scratch, 'src', 'hello_web.erl'), 'utf8').split('\n');
  const line = src[items_.route.range.start.line];
  assert.ok(line.includes('/api/items/:id'), `line ${items_.route.range.start.line}: ${line}`);

  // Params naming a file pick that file's project.
  const one = parseRoutes(await conn.sendRequest(ROUTES_METHOD, { uri: pathToFileURL(path.join(scratch, 'src', 'hello_web.erl')).toString() }));
  assert.deepEqual(one, routes);

  await conn.sendRequest('shutdown');
  await conn.sendNotification('exit');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;
});
