// End-to-end: the `avmd dev` dashboard and live reload in headless Chromium. Runs the real binary
// (built with cargo) on a temp copy of examples/hello_web with free ports, then (1) loads the dashboard
// and checks it renders the build, routes, console and history with no console errors, and (2) opens
// the app's page, edits priv/www/index.html and waits for the open tab to reload by itself.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launchChromium } from "./chromium.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let dev;
let dashboard;
let project;
let browser;
let output = "";

// Starts `avmd dev` and resolves with the dashboard URL it prints.
function startDev() {
  return new Promise((resolve, reject) => {
    dev = spawn(path.join(root, "target/debug/avmd"), ["dev", project, "--port", "0", "--dashboard-port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const timer = setTimeout(() => reject(new Error("avmd dev did not start:\n" + output)), 120000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/dashboard (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m && /build ok/.test(output)) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    dev.stdout.on("data", onData);
    dev.stderr.on("data", onData);
    dev.on("exit", (code) => reject(new Error(`avmd dev exited with ${code}:\n${output}`)));
  });
}

before(async () => {
  const build = spawnSync("cargo", ["build", "-q", "-p", "avmd"], { cwd: root, stdio: "inherit" });
  assert.equal(build.status, 0, "cargo build -p avmd");
  project = fs.mkdtempSync(path.join(os.tmpdir(), "avmd-dashboard-"));
  fs.cpSync(path.join(root, "examples/hello_web"), project, {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}_build`),
  });
  if (!fs.existsSync(path.join(project, "avmd.toml"))) {
    fs.writeFileSync(path.join(project, "avmd.toml"), 'name = "hello_web"\nprofile = "esp32"\n');
  }
  // Chromium asks for gzip, which the example answers with the prebuilt index.html.gz; drop it so the
  // page comes from the index.html this test edits.
  fs.rmSync(path.join(project, "priv/www/index.html.gz"), { force: true });
  dashboard = await startDev();
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (dev) {
    try { process.kill(-dev.pid, "SIGTERM"); } catch { /* already gone */ }
  }
  if (project) fs.rmSync(project, { recursive: true, force: true });
});

test("the dashboard loads with no console errors and shows build, routes, console, history",
  { timeout: 60000 }, async () => {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(m.text()); });
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("requestfailed", (r) => {
      // The SSE stream is cut when the page closes; anything else failing is a problem.
      if (!r.url().endsWith("/api/events")) problems.push(`${r.url()}: ${r.failure()?.errorText}`);
    });
    await page.goto(dashboard);
    await page.waitForFunction(() => document.getElementById("phase").textContent === "ok");
    await page.waitForFunction(() => document.querySelectorAll("#routes tbody tr").length > 3);
    await page.waitForFunction(() => document.querySelectorAll("#history tbody tr").length >= 1);
    await page.waitForFunction(() => /listening on port/.test(document.getElementById("console").textContent));
    const routes = await page.$$eval("#routes tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
    assert.ok(routes.includes("/api/hello"), routes.join(" "));
    assert.match(await page.textContent("#app"), /hello_web \(esp32\)/);
    assert.deepEqual(problems, []);
    await page.close();
  });

test("an open tab reloads by itself after a good rebuild", { timeout: 60000 }, async () => {
  const status = await (await fetch(dashboard + "api/status")).json();
  const page = await browser.newPage();
  await page.goto(status.app_url);
  assert.equal(await page.textContent("h1"), "Hello from the device");
  // The live-reload client is connected once its script ran.
  await page.waitForFunction(() => window.__avmdLiveReload === true);
  await page.evaluate(() => { window.__beforeReload = true; });
  const index = path.join(project, "priv/www/index.html");
  fs.writeFileSync(index, fs.readFileSync(index, "utf8").replace("Hello from the device", "Hello again"));
  await page.waitForFunction(() => document.querySelector("h1")?.textContent === "Hello again", null,
                             { timeout: 45000 });
  assert.equal(await page.evaluate(() => window.__beforeReload), undefined, "the page was reloaded");
  await page.close();
});
