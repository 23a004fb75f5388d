// avmd/routes replies → checked types → QuickPick items; and the dashboard's scan as a fallback.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { parseRoutesReply } from '../src/dashboard';
import { ProtocolError, RouteInfo, parseRoutes } from '../src/lsp_ext';
import { methodsText, relativeTo, routeItems, routesFromDashboard } from '../src/route_items';

const fixtures = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const range = (line: number) => ({ start: { line, character: 2 }, end: { line, character: 30 } });

const reply: unknown = [
  { path: '/api/items/:id', handler: 'httpd_api_handler', target: 'hello_web_api', methods: ['GET', 'PUT', 'DELETE'], uri: 'file:///w/src/hello_web_api.erl', range: range(12) },
  { path: '/', handler: 'httpd_static', methods: ['GET'], uri: 'file:///w/src/hello_web.erl', range: range(37) },
  { path: '/ws/echo', handler: 'echo_ws', target: null, uri: 'file:///w/src/echo_ws.erl', range: range(0) },
  { path: '/ws/counter', handler: 'counter_ws', methods: null, uri: 'file:///elsewhere/counter_ws.erl', range: range(4) },
];

describe('parseRoutes', () => {
  test('accepts the documented shape; methods is optional (absent or null)', () => {
    const r = parseRoutes(reply);
    assert.equal(r.length, 4);
    assert.deepEqual(r[0].methods, ['GET', 'PUT', 'DELETE']);
    assert.equal('methods' in r[2], false);
    assert.equal('methods' in r[3], false);
    assert.equal(r[0].target, 'hello_web_api');
    assert.equal('target' in r[2], false);
    assert.deepEqual(r[1].range, range(37));
  });

  test('names the first bad field', () => {
    const bad = (v: unknown, re: RegExp) => assert.throws(() => parseRoutes(v), (e: Error) => e instanceof ProtocolError && re.test(e.message));
    bad(null, /expected an array of routes, got null/);
    bad({ routes: [] }, /expected an array of routes, got an object/);
    bad([1], /avmd\/routes\[0\]: expected an object, got number 1/);
    bad([{ path: '/', handler: 'h', uri: 3, range: range(0) }], /\[0\]\.uri: expected a string/);
    bad([{ path: '/', handler: 'h', target: 7, uri: 'file:///x', range: range(0) }], /\[0\]\.target: expected a string/);
    bad([{ path: '/', handler: 'h', uri: 'file:///x', methods: ['GET', 1], range: range(0) }], /\[0\]\.methods/);
    bad([{ path: '/', handler: 'h', uri: 'file:///x', range: { start: { line: -1, character: 0 }, end: { line: 0, character: 0 } } }], /range\.start/);
    bad([{ path: '/', handler: 'h', uri: 'file:///x' }], /range: expected \{start, end\}/);
  });
});

describe('routeItems', () => {
  test('one item per route, sorted by path, methods as description, handler and 1-based line as detail', () => {
    const items = routeItems(parseRoutes(reply), (uri) => relativeTo(['/w'], uri));
    assert.deepEqual(
      items.map(({ label, description, detail }) => ({ label, description, detail })),
      [
        { label: '/', description: 'GET', detail: 'httpd_static — src/hello_web.erl:38' },
        { label: '/api/items/:id', description: 'GET, PUT, DELETE', detail: 'httpd_api_handler → hello_web_api — src/hello_web_api.erl:13' },
        { label: '/ws/counter', description: 'any method', detail: 'counter_ws — /elsewhere/counter_ws.erl:5' },
        { label: '/ws/echo', description: 'any method', detail: 'echo_ws — src/echo_ws.erl:1' },
      ],
    );
    // The item carries the route to open, untouched.
    assert.equal(items[1].route.uri, 'file:///w/src/hello_web_api.erl');
    assert.deepEqual(items[1].route.range, range(12));
  });

  test('same path, different methods: stable order by method list', () => {
    const rs: RouteInfo[] = [
      { path: '/x', handler: 'b', methods: ['POST'], uri: 'file:///a', range: range(0) },
      { path: '/x', handler: 'a', methods: ['GET'], uri: 'file:///a', range: range(1) },
    ];
    assert.deepEqual(routeItems(rs, (u) => u).map((i) => i.route.handler), ['a', 'b']);
  });

  test('no routes, no items', () => assert.deepEqual(routeItems([], (u) => u), []));
  test('methodsText', () => {
    assert.equal(methodsText(undefined), 'any method');
    assert.equal(methodsText([]), 'any method');
    assert.equal(methodsText(['GET']), 'GET');
  });
  test('relativeTo leaves non-file URIs and files outside the roots alone', () => {
    assert.equal(relativeTo(['/w'], 'untitled:Untitled-1'), 'untitled:Untitled-1');
    assert.equal(relativeTo(['/w'], 'file:///w2/x.erl'), '/w2/x.erl');
    assert.equal(relativeTo(['/a', '/w'], 'file:///w/src/a%20b.erl'), 'src/a b.erl');
  });
});

describe('routesFromDashboard', () => {
  test('the recorded /api/routes of hello_web maps to routes at the tuple lines', () => {
    const dash = parseRoutesReply(JSON.parse(readFileSync(path.join(fixtures, 'routes.json'), 'utf8')));
    const rs = routesFromDashboard(dash, '/home/dev/hello_web');
    assert.equal(rs.length, 9);
    assert.deepEqual(rs[1], {
      path: '/api/hello',
      handler: 'httpd_api_handler',
      target: 'hello_web_api',
      methods: ['GET'],
      uri: 'file:///home/dev/hello_web/src/hello_web.erl',
      range: { start: { line: 38, character: 0 }, end: { line: 38, character: 0 } },
    });
    assert.equal('target' in rs[0], false); // httpd_static has no `handler => Mod`
    assert.equal('methods' in rs[6], false); // [] = any method
    // And it survives the same checks as a server reply.
    assert.deepEqual(parseRoutes(JSON.parse(JSON.stringify(rs))), rs);
  });

  test('no scanned file: no routes', () => {
    assert.deepEqual(routesFromDashboard({ file: null, routes: [] }, '/x'), []);
  });
});
