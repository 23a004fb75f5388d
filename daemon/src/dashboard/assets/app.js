// The avmd dev dashboard: fetches the JSON API once, then follows /api/events (SSE) and refetches
// what an event says has changed. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_CONSOLE_LINES = 1000;

function text(tag, value, cls) {
  const el = document.createElement(tag);
  el.textContent = value == null ? "" : String(value);
  if (cls) el.className = cls;
  return el;
}

function utc(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "");
}

async function getJson(path) {
  const res = await fetch(path, { cache: "no-store" });
  if (!res.ok) throw new Error(path + ": HTTP " + res.status);
  return res.json();
}

function showPhase(phase) {
  const el = $("phase");
  el.textContent = phase;
  el.className = "phase " + phase;
}

function showStatus(s) {
  $("app").textContent = s.project.app + " (" + s.project.profile + ")";
  showPhase(s.phase);
  const link = $("app-link");
  if (s.app_url) { link.href = s.app_url; link.textContent = s.app_url; }
  const b = s.current_build;
  const dl = $("build");
  dl.replaceChildren();
  const rows = b ? [
    ["build", "#" + b.id + " " + b.result + " at " + utc(b.started_at_ms)],
    ["duration", b.duration_ms + " ms (" + b.n_compiled + " compiled / " + b.n_modules + " modules)"],
    ["bundle", b.bundle_sha256 ? b.bundle_sha256.slice(0, 16) + "… " + b.bundle_size + " bytes" : "—"],
    ["serving", s.serving_sha256 ? s.serving_sha256.slice(0, 16) + "…" : "nothing yet"],
    ["undef in dev", b.poisoned_calls.length ? b.poisoned_calls.join(", ") : "none"],
    ["load error", b.load_error || "none"],
  ] : [["build", "none yet"]];
  for (const w of s.warnings) rows.push(["warning", w]);
  for (const [k, v] of rows) { dl.append(text("dt", k), text("dd", v)); }
}

function showDiagnostics(d) {
  const ul = $("diagnostics");
  ul.replaceChildren();
  if (!d.diagnostics.length) { ul.append(text("li", "none", "empty")); return; }
  for (const x of d.diagnostics) ul.append(text("li", x.rendered, x.severity));
}

function showRoutes(r) {
  $("routes-file").textContent = r.file || "";
  const tb = $("routes").tBodies[0];
  tb.replaceChildren();
  for (const x of r.routes) {
    const tr = document.createElement("tr");
    tr.append(text("td", x.path), text("td", x.handler + (x.target ? " → " + x.target : "")),
      text("td", x.methods.length ? x.methods.join(" ") : "any"), text("td", x.line));
    tb.append(tr);
  }
}

function showHistory(h) {
  const tb = $("history").tBodies[0];
  tb.replaceChildren();
  for (const b of h.builds) {
    const tr = document.createElement("tr");
    tr.append(text("td", b.id), text("td", utc(b.started_at_ms)), text("td", b.result, b.result),
      text("td", b.duration_ms), text("td", b.n_errors), text("td", b.n_warnings),
      text("td", b.bundle_sha256 ? b.bundle_sha256.slice(0, 12) + " (" + b.bundle_size + " B)" : "—"),
      text("td", b.trigger));
    tb.append(tr);
  }
}

function showDevices(d) {
  const tb = $("devices").tBodies[0];
  tb.replaceChildren();
  if (!d.devices.length) {
    const td = text("td", "none: avmd devices add NAME HOST:PORT, or avmd sim", "empty");
    td.colSpan = 7;
    tb.append(document.createElement("tr")).append(td);
    return;
  }
  for (const { device: r, last_push: p } of d.devices) {
    const tr = document.createElement("tr");
    const state = !r.online ? "offline" : r.trial ? "trial boot" : r.outdated ? "out of date" : r.outdated === false ? "current" : "online";
    const button = document.createElement("button");
    button.textContent = "Push";
    button.disabled = !r.online;
    button.addEventListener("click", () => pushTo(r.name, button));
    tr.append(text("td", r.name), text("td", r.address), text("td", r.online ? "online" : "offline", r.online ? "ok" : "failed"),
      text("td", r.sha256 ? r.sha256.slice(0, 12) + (r.version ? " " + r.version : "") : "—"),
      text("td", state, r.outdated ? "failed" : "ok"),
      text("td", p ? p.result + " " + utc(p.started_at_ms) + (p.detail ? " (" + p.detail + ")" : "") : "—"));
    const actions = tr.appendChild(document.createElement("td"));
    actions.append(button);
    if (r.console_path) {
      const c = document.createElement("button");
      c.textContent = "Console";
      c.addEventListener("click", () => showDeviceConsole(r.name));
      actions.append(" ", c);
    }
    tb.append(tr);
  }
}

async function pushTo(name, button) {
  button.disabled = true;
  button.textContent = "Pushing…";
  try {
    const res = await fetch("/api/devices/" + encodeURIComponent(name) + "/push",
      { method: "POST", headers: { "x-avmd-action": "push" } });
    const o = await res.json();
    button.textContent = o.result || o.error || "failed";
  } catch (err) {
    button.textContent = "failed";
  }
  refreshDevices().catch(report);
}

let consoleDevice = null;

async function showDeviceConsole(name) {
  consoleDevice = name;
  $("device-console-title").hidden = false;
  $("device-console").hidden = false;
  $("device-console-title").textContent = "Console of " + name;
  await refreshDeviceConsole();
}

async function refreshDeviceConsole() {
  if (!consoleDevice) return;
  const c = await getJson("/api/devices/" + encodeURIComponent(consoleDevice) + "/console?limit=200");
  const pre = $("device-console");
  pre.textContent = c.lines.join("\n");
  pre.scrollTop = pre.scrollHeight;
}

async function refreshDevices() { showDevices(await getJson("/api/devices")); }

function appendConsole(line) {
  const pre = $("console");
  const stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.append(text("div", line.text, line.stream));
  while (pre.childNodes.length > MAX_CONSOLE_LINES) pre.firstChild.remove();
  if (stick) pre.scrollTop = pre.scrollHeight;
}

async function refreshBuild() {
  const [s, d, r, h] = await Promise.all([
    getJson("/api/status"), getJson("/api/diagnostics"), getJson("/api/routes"), getJson("/api/builds?limit=50"),
  ]);
  showStatus(s); showDiagnostics(d); showRoutes(r); showHistory(h);
}

async function refreshConsole() {
  const c = await getJson("/api/console?limit=" + MAX_CONSOLE_LINES);
  $("console").replaceChildren();
  for (const line of c.lines) appendConsole(line);
}

function report(err) { showPhase("dashboard error: " + err.message); }

function follow() {
  const es = new EventSource("/api/events");
  es.addEventListener("build", () => refreshBuild().catch(report));
  es.addEventListener("status", (e) => showPhase(JSON.parse(e.data).phase));
  es.addEventListener("console", (e) => appendConsole(JSON.parse(e.data)));
  es.addEventListener("push", () => refreshDevices().catch(report));
  es.addEventListener("lagged", () => { refreshBuild().catch(report); refreshConsole().catch(report); });
  // After a reconnect (daemon restarted), everything may have changed.
  es.addEventListener("hello", () => { refreshBuild().catch(report); refreshConsole().catch(report); });
}

follow();
refreshDevices().catch(report);
setInterval(() => refreshDevices().catch(() => {}), 5000);
setInterval(() => refreshDeviceConsole().catch(() => {}), 2000);
