// End-to-end: the example's WebSocket page (examples/hello_web/priv/www/ws.html) in headless Chromium.
// Boots the example on host OTP (examples/hello_web/serve_host.sh, port 0), opens /ws.html and checks
// that messages flow both ways: an echo typed into the page comes back, the counter pushed by a server
// process ticks, and the page's buttons (reset, +10) change the server's counter.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { launchChromium } from "./chromium.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let server;
let port;
let browser;

// Starts the example and resolves with the port it prints ("hello_web listening on port N").
function startExample() {
  return new Promise((resolve, reject) => {
    server = spawn("bash", [path.join(root, "examples/hello_web/serve_host.sh"), "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    const timer = setTimeout(() => reject(new Error("example did not start:\n" + out)), 60000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/listening on port (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    server.stdout.on("data", onData);
    server.stderr.on("data", onData);
    server.on("exit", (code) => reject(new Error(`example exited with ${code}:\n${out}`)));
  });
}

before(async () => {
  port = await startExample();
  browser = await launchChromium();
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    try { process.kill(-server.pid, "SIGKILL"); } catch { /* already gone */ }
  }
});

test("ws.html: echo and live counter flow both ways", { timeout: 60000 }, async () => {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/ws.html`);
  await page.waitForFunction(() => document.getElementById("echo-state").textContent === "open");
  await page.waitForFunction(() => document.getElementById("counter-state").textContent === "open");

  // browser → server → browser: the echo
  await page.fill("#echo-input", "hello from chromium ✓");
  await page.click("#echo-send");
  await page.waitForSelector("#echo-log li");
  assert.equal(await page.textContent("#echo-log li"), "hello from chromium ✓");

  // server process → browser: the counter ticks by itself
  const read = async () => Number(await page.textContent("#counter-value"));
  await page.waitForFunction(() => /^\d+$/.test(document.getElementById("counter-value").textContent));
  const first = await read();
  await page.waitForFunction((v) => Number(document.getElementById("counter-value").textContent) > v, first);

  // browser → server process → every subscriber: reset, then +10
  await page.click("#counter-reset");
  await page.waitForFunction(() => Number(document.getElementById("counter-value").textContent) < 5);
  const afterReset = await read();
  await page.click("#counter-add");
  await page.waitForFunction((v) => Number(document.getElementById("counter-value").textContent) >= v + 10,
                             afterReset);

  // a second page sees the same server-side counter. The example runs with the esp32 profile, which
  // allows 2 WebSockets: the first page closes first (its slots free up; the page retries on refusal).
  await page.close();
  const other = await browser.newPage();
  await other.goto(`http://127.0.0.1:${port}/ws.html`);
  await other.waitForFunction(() => /^\d+$/.test(document.getElementById("counter-value").textContent));
  assert.ok(Number(await other.textContent("#counter-value")) >= 10);
  await other.close();
});
