// The pure models behind the status bar, the Devices view and the Routes view, fed with the shapes
// avmd really prints (`avmd/buildStatus`, `avmd build --json`, `avmd devices --json`,
// `avmd push --json` and its progress lines; docs/lsp.md, docs/ota.md).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { buildStatusView, bytesText, fromBuildJson, parseBuildStatus } from '../src/build_status';
import { deviceView, parseDevices, parseProgressLine, parsePushReport, pushSummary } from '../src/devices_model';
import { ProtocolError } from '../src/lsp_ext';
import { routeRows } from '../src/routes_tree';

const ok = {
  root: 'file:///p/hello_web',
  state: 'ok',
  errors: 0,
  warnings: 0,
  sha256: 'ab'.repeat(32),
  size: 61440,
  partitionSize: 1048576,
  durationMs: 41,
};

test('buildStatus: checked, and shown as state, size against the partition, device', () => {
  const s = parseBuildStatus(ok);
  assert.equal(buildStatusView(s).text, '$(check) avmd 60 KB/1 MB');
  assert.equal(buildStatusView(s, 'sim-0').text, '$(check) avmd 60 KB/1 MB → sim-0');
  assert.match(buildStatusView(s).tooltip, /6%/);
  const bad = parseBuildStatus({ ...ok, state: 'error', errors: 2, sha256: null, size: null, lastError: 'lists:sum/1 is not available on AtomVM (esp32)' });
  const v = buildStatusView(bad);
  assert.equal(v.text, '$(error) avmd 2 errors');
  assert.equal(v.tone, 'error');
  assert.match(v.tooltip, /lists:sum\/1/);
  assert.equal(buildStatusView(parseBuildStatus({ ...ok, state: 'building' })).tone, 'busy');
  assert.equal(buildStatusView(null).tone, 'off');
  // a nearly full partition is a warning
  assert.equal(buildStatusView(parseBuildStatus({ ...ok, size: 1000000 })).tone, 'warning');
  assert.throws(() => parseBuildStatus({ ...ok, state: 'done' }), ProtocolError);
  assert.throws(() => parseBuildStatus({ ...ok, errors: -1 }), /errors/);
  assert.throws(() => parseBuildStatus('ok'), /expected an object/);
});

test('avmd build --json becomes the same status', () => {
  const good = fromBuildJson('file:///p', {
    bundle: '/p/_build/avmd/hello_web.avm', sha256: 'cd'.repeat(32), size: 2048, partition_size: 4096,
    diagnostics: [{ severity: 'warning', message: 'unused' }], duration_ms: 12,
  });
  assert.deepEqual([good.state, good.warnings, good.size, good.partitionSize], ['ok', 1, 2048, 4096]);
  const failed = fromBuildJson('file:///p', {
    bundle: null, sha256: null, size: null, partition_size: null,
    diagnostics: [{ severity: 'error', message: 'syntax error before: )' }], duration_ms: 3,
  }, 4096);
  assert.deepEqual([failed.state, failed.errors, failed.partitionSize, failed.lastError], ['error', 1, 4096, 'syntax error before: )']);
  assert.throws(() => fromBuildJson('file:///p', { nope: 1 }), /avmd build --json/);
  assert.equal(bytesText(512), '512 B');
  assert.equal(bytesText(1536), '1.5 KB');
});

test('devices: rows, what each shows, and its actions', () => {
  const devices = parseDevices([
    { name: 'sim-0', address: '127.0.0.1:9100', online: true, sha256: 'ef'.repeat(32), version: '0.1.0', outdated: true, trial: false, console_path: '/p/_build/avmd/sim/sim-0/console.log', announced: false },
    { name: 'kitchen', address: '192.168.1.9:8080', online: false, sha256: null, outdated: null },
  ]);
  const v0 = deviceView(devices[0]);
  assert.equal(v0.description, '0.1.0 · out of date');
  assert.equal(v0.contextValue, 'device-outdated');
  assert.equal(devices[0].consolePath, '/p/_build/avmd/sim/sim-0/console.log');
  const v1 = deviceView(devices[1]);
  assert.equal(v1.description, 'unknown build · offline');
  assert.equal(v1.contextValue, 'device-offline');
  const after = deviceView({ ...devices[0], outdated: false }, { device: 'sim-0', result: 'updated', detail: '', bytesSent: 1, durationMs: 1 });
  assert.equal(after.description, '0.1.0 · current · last push updated');
  assert.throws(() => parseDevices({}), /expected an array/);
  assert.throws(() => parseDevices([{ name: 1 }]), /\[0\]/);
});

test('push: the report, the progress lines, the one-line summary', () => {
  const r = parsePushReport({
    sha256: '12'.repeat(32), size: 61440,
    outcomes: [
      { device: 'sim-0', result: 'updated', detail: '', bytes_sent: 61440, duration_ms: 900, running_sha256: '12'.repeat(32) },
      { device: 'sim-1', result: 'unreachable', detail: 'connection refused', bytes_sent: 0, duration_ms: 3 },
    ],
  });
  assert.equal(pushSummary(r), `1 of 2 device(s) run 121212121212: sim-0: updated, running 121212121212; sim-1: unreachable (connection refused)`);
  assert.deepEqual(parseProgressLine('{"event":"progress","device":"sim-0","sent":16384,"total":61440}'), { device: 'sim-0', sent: 16384, total: 61440 });
  for (const junk of ['', 'pushing…', '{"event":"other"}', '{"event":"progress","device":"x","sent":1,"total":0}', '{"event":"progress"']) {
    assert.equal(parseProgressLine(junk), null, junk);
  }
  assert.throws(() => parsePushReport([]), /avmd push --json/);
});

test('routes view rows read like a route table', () => {
  const range = { start: { line: 3, character: 8 }, end: { line: 3, character: 20 } };
  const rows = routeRows([
    { path: '/api/hello', handler: 'httpd_api_handler', target: 'hello_web_api', methods: ['GET'], uri: 'file:///p/src/a.erl', range },
    { path: '/ws/echo', handler: 'httpd_ws_handler', target: 'echo_ws', uri: 'file:///p/src/a.erl', range },
    { path: '/stream', handler: 'hello_web_stream', methods: ['GET', 'HEAD'], uri: 'file:///p/src/a.erl', range },
  ]);
  assert.deepEqual(rows.map((r) => [r.label, r.description]), [
    ['GET /api/hello', '→ hello_web_api'],
    ['* /ws/echo', '→ echo_ws'],
    ['GET|HEAD /stream', '→ hello_web_stream'],
  ]);
  assert.match(rows[0].tooltip, /line 4/);
});
