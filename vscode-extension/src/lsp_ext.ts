/**
 * The avmd language server's protocol extensions, as plain types (no `vscode` import, so the
 * checks below run under plain node in the tests).
 *
 * `avmd/routes` (client → server request; params `{}` for every project, or `{uri}` for the project
 * holding that file) answers the route map: one entry per route tuple `{<<"/path">>, Handler, Opts}`
 * the server found in the start module, with the tuple's location.
 */

/** The custom request's method name. */
export const ROUTES_METHOD = 'avmd/routes';

/** A zero-based LSP position (UTF-16 `character`, as in the LSP spec). */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** One route as `avmd/routes` returns it. */
export interface RouteInfo {
  /** The path pattern as written, e.g. `/api/items/:id`. */
  path: string;
  /** The route's handler module, e.g. `httpd_api_handler`. */
  handler: string;
  /** For generic handlers (`httpd_api_handler`, `httpd_ws_handler`): the `handler => Mod` they call. */
  target?: string;
  /** Allowed methods; absent or empty when any method is allowed. */
  methods?: string[];
  /** The file of the route tuple: a `file://` URI ... */
  uri: string;
  /** ... and the tuple's range in it. */
  range: Range;
}

/** A reply that does not have the documented shape. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function position(v: unknown, where: string): Position {
  if (
    !isObject(v) ||
    !Number.isInteger(v.line) ||
    !Number.isInteger(v.character) ||
    (v.line as number) < 0 ||
    (v.character as number) < 0
  ) {
    throw new ProtocolError(`${where}: expected {line, character} with non-negative integers`);
  }
  return { line: v.line as number, character: v.character as number };
}

/**
 * Checks an `avmd/routes` reply and returns it typed. A server that answers something else gets a
 * clear error naming the first bad field, instead of a QuickPick full of `undefined`.
 */
export function parseRoutes(reply: unknown): RouteInfo[] {
  if (!Array.isArray(reply)) {
    throw new ProtocolError(`${ROUTES_METHOD}: expected an array of routes, got ${describe(reply)}`);
  }
  return reply.map((r: unknown, i: number): RouteInfo => {
    const at = `${ROUTES_METHOD}[${i}]`;
    if (!isObject(r)) throw new ProtocolError(`${at}: expected an object, got ${describe(r)}`);
    for (const key of ['path', 'handler', 'uri'] as const) {
      if (typeof r[key] !== 'string') {
        throw new ProtocolError(`${at}.${key}: expected a string, got ${describe(r[key])}`);
      }
    }
    if (r.target !== undefined && r.target !== null && typeof r.target !== 'string') {
      throw new ProtocolError(`${at}.target: expected a string, got ${describe(r.target)}`);
    }
    let methods: string[] | undefined;
    if (r.methods !== undefined && r.methods !== null) {
      if (!Array.isArray(r.methods) || !r.methods.every((m) => typeof m === 'string')) {
        throw new ProtocolError(`${at}.methods: expected an array of strings`);
      }
      methods = r.methods as string[];
    }
    if (!isObject(r.range)) throw new ProtocolError(`${at}.range: expected {start, end}`);
    const range = {
      start: position(r.range.start, `${at}.range.start`),
      end: position(r.range.end, `${at}.range.end`),
    };
    return {
      path: r.path as string,
      handler: r.handler as string,
      ...(typeof r.target === 'string' ? { target: r.target } : {}),
      ...(methods ? { methods } : {}),
      uri: r.uri as string,
      range,
    };
  });
}

/** A short description of a JSON value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
