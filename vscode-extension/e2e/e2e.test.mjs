// The extension end to end in a real VS Code: code-server (from the npm registry) with the built
// .vsix installed, driven by playwright-core in Debian's chromium, on a copy of examples/hello_web.
// It checks, as a user would see them: the language server starts and a planted unsupported call is
// in Problems at its line; the Routes view lists the example's routes; Build changes the status bar;
// Start Dev Loop serves the app and a save reloads its page; with `avmd sim` devices running (started
// from the Devices view's command), Push to All Outdated updates them and the Devices view shows the
// new build. Screenshots go to $AVMD_E2E_SHOTS (docs/images when refreshing the docs' pictures).
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const extDir = path.resolve(here, '..');
const repo = path.resolve(extDir, '..');
const avmd = path.join(repo, 'target', 'debug', 'avmd');
const codeServer = path.join(here, 'node_modules', '.bin', 'code-server');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const work = mkdtempSync(path.join(os.tmpdir(), 'avmd-vscode-e2e-'));
const shots = process.env.AVMD_E2E_SHOTS ? path.resolve(process.env.AVMD_E2E_SHOTS) : path.join(work, 'shots');
mkdirSync(shots, { recursive: true });
const cleanup = [];
after(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  if (!process.env.AVMD_E2E_KEEP) rmSync(work, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A port p with p+1 free too (avmd dev: app on p, dashboard on p+1). */
async function freePair() {
  for (;;) {
    const p = await freePort();
    const ok = await new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(p + 1, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
}

async function until(what, f, ms = 120_000, every = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

async function get(url) {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

const skip = !existsSync(CHROMIUM)
  ? `no chromium at ${CHROMIUM}`
  : !existsSync(codeServer)
    ? 'code-server is not installed (cd vscode-extension/e2e && npm ci)'
    : false;

test('the extension in code-server: problems, routes, build, dev reload, push to simulated devices', { skip, timeout: 900_000 }, async () => {
  // ---- the binary, the package, the project ----
  execFileSync('cargo', ['build', '-q', '-p', 'avmd'], { cwd: repo, stdio: 'inherit' });
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: extDir, stdio: 'inherit' });
  const vsix = path.join(work, 'avmd.vsix');
  execFileSync(path.join(extDir, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '-o', vsix], { cwd: extDir, stdio: 'pipe' });
  const project = path.join(work, 'hello_web');
  cpSync(path.join(repo, 'examples', 'hello_web'), project, { recursive: true, filter: (p) => !p.includes(`${path.sep}_build`) && !p.endsWith('ota.pub') });
  const env = {
    ...process.env,
    AVMD_HOME: path.join(work, 'avmd-home'),
    AVMD_KEY_DIR: path.join(work, 'keys'),
    AVMD_NO_MDNS: '1',
    XDG_CONFIG_HOME: path.join(work, 'xdg', 'config'),
    XDG_DATA_HOME: path.join(work, 'xdg', 'data'),
    XDG_CACHE_HOME: path.join(work, 'xdg', 'cache'),
  };
  execFileSync(avmd, ['key', 'new', project], { env, stdio: 'pipe' });
  const api = path.join(project, 'src', 'hello_web_api.erl');
  const original = readFileSync(api, 'utf8');
  const anchor = '    {ok, #{<<"hello">> => httpd_handler:query(<<"name">>, Req, <<"world">>)}};';
  assert.ok(original.includes(anchor));
  const planted = original.replace(anchor, `    _ = lists:sum([1, 2]),\n${anchor}`);
  writeFileSync(api, planted);
  const plantedLine = planted.split('\n').findIndex((l) => l.includes('lists:sum')) + 1;

  // ---- code-server with the .vsix installed ----
  const userData = path.join(work, 'user-data');
  const extensions = path.join(work, 'extensions');
  const appPort = await freePair();
  const dashPort = appPort + 1;
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({
    'telemetry.telemetryLevel': 'off',
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'security.workspace.trust.enabled': false,
    'extensions.autoCheckUpdates': false,
    'avmd.path': avmd,
    'avmd.dashboardPort': dashPort,
  }, null, 1));
  execFileSync(codeServer, ['--install-extension', vsix, '--extensions-dir', extensions, '--user-data-dir', userData], { env, stdio: 'pipe' });
  const csPort = await freePort();
  const cs = spawn(codeServer, [
    '--bind-addr', `127.0.0.1:${csPort}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--user-data-dir', userData, '--extensions-dir', extensions, project,
  ], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let csLog = '';
  cs.stdout.on('data', (d) => (csLog += d));
  cs.stderr.on('data', (d) => (csLog += d));
  // its file watchers and terminals outlive the main process: end the whole group
  cleanup.push(async () => process.kill(-cs.pid, 'SIGKILL'));
  await until('code-server to listen', async () => (await get(`http://127.0.0.1:${csPort}/healthz`)).status === 200, 60_000);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  cleanup.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${csPort}/?folder=${encodeURIComponent(project)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

  const statusText = async () => (await page.locator('.statusbar-item').allInnerTexts()).join(' | ');
  /** Runs a command from the palette, retrying while the extension host has not registered it yet. */
  async function command(title) {
    await until(`the command "${title}"`, async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ timeout: 5000 });
      await input.fill(`>${title}`);
      const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
      await row.waitFor({ timeout: 3000 });
      await row.click();
      return true;
    }, 60_000, 500);
  }
  async function openFile(rel) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(rel);
    await page.locator('.quick-input-list .monaco-list-row').first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`.tab[aria-label^="${path.basename(rel)}"]`).first().waitFor();
  }

  // ---- 1. the language server starts; the planted call is in Problems at its line ----
  await openFile('src/hello_web_api.erl');
  await until('the build status in the status bar', async () => /avmd \d+ error/.test(await statusText()), 180_000);
  await command('Focus on Problems View');
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: 'lists:sum/1 is not available on AtomVM (esp32)' }).first();
  await problem.waitFor({ timeout: 60_000 });
  const problemText = await problem.innerText();
  assert.match(problemText, new RegExp(`\\[Ln ${plantedLine}, Col 9\\]`), problemText);
  await page.screenshot({ path: path.join(shots, 'vscode-problems.png') });

  // ---- 2. the Routes view lists the example's routes ----
  await page.locator('.activitybar .action-item a[aria-label^="avmd"]').first().click();
  const routesPane = page.locator('.pane', { hasText: 'Routes' }).first();
  for (const r of ['GET /api/hello', 'POST /api/echo', 'GET|PUT|DELETE /api/items/:id', '* /ws/echo', 'GET /*']) {
    await routesPane.locator('.monaco-list-row', { hasText: r }).first().waitFor({ timeout: 60_000 });
  }
  await page.screenshot({ path: path.join(shots, 'vscode-routes.png') });

  // ---- 3. fixed on disk, Build changes the status bar ----
  writeFileSync(api, original);
  await command('avmd: Build');
  const built = await until('a good build in the status bar', async () => {
    const t = await statusText();
    return /avmd [\d.]+ KB\/1 MB/.test(t) && t;
  }, 180_000);
  assert.doesNotMatch(built, /avmd \d+ error/);
  await page.screenshot({ path: path.join(shots, 'vscode-status.png'), clip: { x: 0, y: 860 - 30, width: 1400, height: 30 } });

  // ---- 4. simulated devices from the Devices view: they run this build ----
  await command('avmd: Start Simulated Devices');
  const devicesPane = page.locator('.pane', { hasText: 'Devices' }).first();
  await until('three simulated devices in the Devices view', async () => {
    await command('avmd: Refresh Devices');
    const rows = await devicesPane.locator('.monaco-list-row').allInnerTexts();
    return rows.filter((r) => /sim-\d/.test(r) && /current/.test(r)).length === 3;
  }, 180_000, 2000);

  // ---- 5. Start Dev Loop; a save reloads the app page ----
  await command('avmd: Start Dev Loop');
  const appUrl = `http://127.0.0.1:${appPort}`;
  await until('avmd dev to serve the app', async () => (await get(`${appUrl}/api/hello`)).status === 200, 180_000, 500);
  const app = await context.newPage();
  await app.goto(`${appUrl}/`);
  await app.evaluate(() => (window.__avmdMarker = 1));
  await page.bringToFront();
  await openFile('src/hello_web_api.erl');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+H');
  const find = page.locator('.find-widget textarea[aria-label="Find"], .find-widget input[aria-label="Find"]').first();
  await find.fill('<<"world">>');
  const replace = page.locator('.find-widget textarea[aria-label="Replace"], .find-widget input[aria-label="Replace"]').first();
  await replace.fill('<<"vscode">>');
  await page.keyboard.press('Control+Alt+Enter');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+S');
  await until('the saved change to be served', async () => (await get(`${appUrl}/api/hello`)).text.includes('"vscode"'), 120_000, 300);
  await until('the app page to reload', async () => (await app.evaluate(() => window.__avmdMarker)) === undefined, 60_000, 300);
  await app.close();

  // ---- 6. Push to All Outdated: the devices take the new build, the view says so ----
  await until('the devices to be out of date', async () => {
    await command('avmd: Refresh Devices');
    const rows = await devicesPane.locator('.monaco-list-row').allInnerTexts();
    return rows.filter((r) => /out of date/.test(r)).length === 3;
  }, 120_000, 2000);
  await command('avmd: Push to All Outdated Devices');
  const done = page.locator('.notification-toast', { hasText: '3 of 3 device(s) run' }).first();
  await done.waitFor({ timeout: 300_000 });
  const summary = await done.innerText();
  const sha = /run ([0-9a-f]{12})/.exec(summary)[1];
  await until('the Devices view to show the new build', async () => {
    const rows = await devicesPane.locator('.monaco-list-row').allInnerTexts();
    return rows.filter((r) => /current · last push updated/.test(r)).length === 3;
  }, 60_000, 1000);
  for (let i = 0; i < 3; i++) {
    const info = JSON.parse((await get(`http://127.0.0.1:${9100 + i}/_avm/info`)).text);
    assert.equal(info.sha256.slice(0, 12), sha, `sim-${i}`);
    assert.match((await get(`http://127.0.0.1:${9100 + i}/api/hello`)).text, /"vscode"/);
  }
  await page.screenshot({ path: path.join(shots, 'vscode-devices.png') });
  assert.ok(!/Error: /.test(csLog.split('\n').filter((l) => /avmd/.test(l)).join('\n')), csLog.slice(-2000));
});
