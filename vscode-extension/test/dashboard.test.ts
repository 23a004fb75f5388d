// The dashboard client against a real HTTP server on 127.0.0.1 serving JSON recorded from a real
// `avmd dev` run of examples/hello_web (test/fixtures), plus the SSE parser and the status text.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  DashboardClient,
  DashboardError,
  MAX_REPLY_BYTES,
  SseEvent,
  SseParser,
  parseStatus,
  statusView,
} from '../src/dashboard';

const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const fixture = (name: string): string => readFileSync(path.join(fixtures, name), 'utf8');

/** What the test server answers per path; a function gets the raw response. */
type Route = string | ((res: http.ServerResponse) => void);
const routes: Record<string, Route> = {};
const seen: string[] = [];
let server: http.Server;
let port = 0;

before(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const r = routes[req.url ?? ''];
    if (r === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    } else if (typeof r === 'string') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(r);
    } else {
      r(res);
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

/** A port nothing listens on: bind one, note it, close it. */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return p;
}

describe('DashboardClient JSON API', () => {
  test('status (ok build) parses the recorded reply', async () => {
    routes['/api/status'] = fixture('status.json');
    const s = await new DashboardClient(port).status();
    assert.equal(s.phase, 'ok');
    assert.equal(s.project.app, 'hello_web');
    assert.equal(s.current_build?.result, 'ok');
    assert.equal(s.current_build?.bundle_size, 105852);
    assert.equal(s.app_url, 'http://127.0.0.1:44661/');
    assert.deepEqual(s.warnings, []);
  });

  test('status (failed build) keeps the last good build', async () => {
    routes['/api/status'] = fixture('status_failed.json');
    const s = await new DashboardClient(port).status();
    assert.equal(s.phase, 'failed');
    assert.equal(s.current_build?.n_errors, 3);
    assert.equal(s.current_build?.bundle_sha256, null);
    assert.equal(s.last_good_build?.result, 'ok');
    assert.equal(s.n_diagnostics, 5);
  });

  test('builds sends the limit (clamped) and parses history rows', async () => {
    routes['/api/builds?limit=2'] = fixture('builds.json');
    routes['/api/builds?limit=1000'] = fixture('builds.json');
    const c = new DashboardClient(port);
    const b = await c.builds(2);
    assert.deepEqual(b.map((x) => [x.id, x.result]), [[2, 'failed'], [1, 'ok']]);
    await c.builds(5000);
    assert.ok(seen.includes('/api/builds?limit=1000'));
  });

  test('diagnostics and routes', async () => {
    routes['/api/diagnostics'] = fixture('diagnostics.json');
    routes['/api/routes'] = fixture('routes.json');
    const c = new DashboardClient(port);
    const d = await c.diagnostics();
    assert.equal(d.result, 'failed');
    assert.equal(d.diagnostics.length, 5);
    assert.equal(d.diagnostics[0].line, 10);
    assert.equal(d.diagnostics[3].severity, 'warning');
    const r = await c.routes();
    assert.equal(r.file, 'src/hello_web.erl');
    assert.deepEqual(r.routes[3].methods, ['GET', 'PUT', 'DELETE']);
  });

  test('an API error reply becomes an http error with its message', async () => {
    routes['/api/builds?limit=3'] = (res) =>
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"build history: disk I/O error"}');
    await assert.rejects(new DashboardClient(port).builds(3), (e: Error) => {
      assert.ok(e instanceof DashboardError);
      assert.equal(e.kind, 'http');
      assert.match(e.message, /HTTP 500: build history: disk I\/O error/);
      return true;
    });
  });

  test('not JSON, wrong shape, too large: protocol errors naming the problem', async () => {
    const c = new DashboardClient(port);
    routes['/api/status'] = '<html>hello</html>';
    await assert.rejects(c.status(), (e: Error) => e instanceof DashboardError && e.kind === 'protocol' && /not JSON/.test(e.message));
    routes['/api/status'] = JSON.stringify({ ...JSON.parse(fixture('status.json')), phase: 3 });
    await assert.rejects(c.status(), /status\.phase: expected a string, got number 3/);
    routes['/api/diagnostics'] = JSON.stringify({ build_id: 1, result: 'ok', diagnostics: [{ file: null, line: '1' }] });
    await assert.rejects(c.diagnostics(), /diagnostics\[0\]\.line: expected an integer/);
    routes['/api/routes'] = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.alloc(MAX_REPLY_BYTES + 1024, 0x20));
    };
    await assert.rejects(c.routes(), /reply larger than/);
  });

  test('a 404 (not an avmd dashboard) is an http error', async () => {
    await assert.rejects(new DashboardClient(port).getJson('/api/nothing'), (e: Error) => e instanceof DashboardError && e.kind === 'http' && /HTTP 404/.test(e.message));
  });

  test('nobody listening: unreachable, with the fix', async () => {
    await assert.rejects(new DashboardClient(await deadPort()).status(), (e: Error) => {
      assert.ok(e instanceof DashboardError);
      assert.equal(e.kind, 'unreachable');
      assert.match(e.message, /no avmd dev dashboard at http:\/\/127\.0\.0\.1:\d+/);
      assert.match(e.message, /Start Dev Loop/);
      return true;
    });
  });
});

describe('DashboardClient.subscribe', () => {
  test('receives the events of a real SSE stream, split across writes, then the end', async () => {
    const recorded = JSON.parse(fixture('status.json')).current_build;
    routes['/api/events'] = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: {"phase":"ok"}\n\n');
      res.write(': keep-alive\n\nevent: sta');
      setImmediate(() => {
        res.write('tus\ndata: {"phase":"building"}\r\n\r\n');
        res.write(`event: build\ndata: ${JSON.stringify(recorded)}\n\n`);
        res.end();
      });
    };
    const events: SseEvent[] = [];
    const endErr = await new Promise<Error | undefined>((resolve) => {
      new DashboardClient(port).subscribe((e) => events.push(e), resolve);
    });
    assert.deepEqual(events.map((e) => e.event), ['hello', 'status', 'build']);
    assert.deepEqual(JSON.parse(events[1].data), { phase: 'building' });
    assert.equal(JSON.parse(events[2].data).bundle_size, 105852);
    assert.ok(endErr instanceof DashboardError && /stream ended/.test(endErr.message));
  });

  test('close() ends it without an error and stops delivery', async () => {
    routes['/api/events'] = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: {}\n\n');
      // Left open: the client closes it.
    };
    let ended: unknown = 'not yet';
    await new Promise<void>((resolve) => {
      const sub = new DashboardClient(port).subscribe(
        () => {
          sub.close();
          resolve();
        },
        (err) => (ended = err),
      );
    });
    assert.equal(ended, undefined);
  });

  test('nobody listening: onEnd with unreachable', async () => {
    const dead = await deadPort();
    const err = await new Promise<Error | undefined>((resolve) => new DashboardClient(dead).subscribe(() => {}, resolve));
    assert.ok(err instanceof DashboardError && err.kind === 'unreachable');
  });
});

describe('SseParser', () => {
  test('data lines join, one leading space is dropped, default type is message', () => {
    const p = new SseParser();
    assert.deepEqual(p.feed('data:a\ndata:  b\n\n'), [{ event: 'message', data: 'a\n b' }]);
  });
  test('CR line ends, including CRLF split across chunks', () => {
    const p = new SseParser();
    assert.deepEqual(p.feed('event: x\rdata: 1\r'), []);
    // The CR that ended the last chunk and this LF are one line end, not an empty line.
    assert.deepEqual(p.feed('\ndata: 2\r\n\r'), []);
    assert.deepEqual(p.feed('\n'), [{ event: 'x', data: '1\n2' }]);
  });
  test('events without data are not dispatched; unknown fields and comments ignored', () => {
    const p = new SseParser();
    assert.deepEqual(p.feed('event: x\n\n:c\nid: 4\nretry: 10\ndata\n\n'), [{ event: 'message', data: '' }]);
  });
  test('an event larger than the bound is an error', () => {
    const p = new SseParser();
    assert.throws(() => p.feed('data: ' + 'x'.repeat(100), 50), /larger than 50 bytes/);
    const q = new SseParser();
    q.feed('data: ' + 'x'.repeat(30) + '\n', 50);
    assert.throws(() => q.feed('data: ' + 'x'.repeat(30) + '\n', 50), /larger than 50 bytes/);
  });
});

describe('statusView', () => {
  const ok = parseStatus(JSON.parse(fixture('status.json')));
  const failed = parseStatus(JSON.parse(fixture('status_failed.json')));

  test('no dashboard', () => {
    const v = statusView(null, 'no avmd dev dashboard at http://127.0.0.1:8081');
    assert.equal(v.tone, 'off');
    assert.match(v.tooltip, /not running\. no avmd dev dashboard/);
  });
  test('ok build', () => {
    const v = statusView(ok);
    assert.deepEqual([v.text, v.tone], ['$(check) avmd ok 282 ms', 'ok']);
    assert.match(v.tooltip, /hello_web \(esp32\): build #1 ok in 282 ms \(6 compiled \/ 26 modules\), triggered by start/);
    assert.match(v.tooltip, /Serving http:\/\/127\.0\.0\.1:44661\//);
  });
  test('failed build', () => {
    const v = statusView(failed);
    assert.deepEqual([v.text, v.tone], ['$(error) avmd 3 errors', 'error']);
    assert.match(v.tooltip, /3 errors, 2 warnings; the last good bundle keeps serving/);
  });
  test('warnings, poisoned calls, building, environment error', () => {
    const b = ok.current_build!;
    const warn = statusView({ ...ok, current_build: { ...b, n_warnings: 1 } });
    assert.deepEqual([warn.text, warn.tone], ['$(warning) avmd ok 282 ms, 1 warning', 'warning']);
    const poisoned = statusView({ ...ok, current_build: { ...b, poisoned_calls: ['lists:sum/1'] } });
    assert.equal(poisoned.tone, 'warning');
    assert.match(poisoned.tooltip, /1 call the device lacks will fail with undef/);
    assert.equal(statusView({ ...ok, phase: 'building' }).tone, 'busy');
    assert.equal(statusView({ ...ok, phase: 'starting', current_build: null }).text, '$(sync~spin) avmd starting');
    const env = statusView({ ...ok, phase: 'error', current_build: { ...b, result: 'error', load_error: 'host VM exited' } });
    assert.deepEqual([env.text, env.tone], ['$(alert) avmd error', 'error']);
    assert.match(env.tooltip, /host VM exited/);
  });
});
