/**
 * A small typed client of the `avmd dev` dashboard's JSON API (docs/dev.md): `/api/status`,
 * `/api/builds`, `/api/diagnostics`, `/api/routes` and the `/api/events` SSE stream, plus the pure
 * text of the status-bar item built from a status. Node's `http` only (no `vscode` import); every
 * reply is size-bounded and shape-checked, and every failure is a `DashboardError` saying what to do.
 */
import * as http from 'node:http';

import { describe } from './lsp_ext';

/** A build as the API shows it (`current_build`, `last_good_build`, `build` events). */
export interface BuildView {
  id: number;
  started_at_ms: number;
  duration_ms: number;
  /** `ok`, `unchanged`, `failed` or `error` (docs/dev.md). */
  result: string;
  bundle_sha256: string | null;
  bundle_size: number | null;
  n_errors: number;
  n_warnings: number;
  n_compiled: number;
  n_modules: number;
  trigger: string;
  /** Only on live builds (status and events), not on history rows. */
  poisoned_calls?: string[];
  load_error?: string | null;
}

export interface ProjectView {
  root: string;
  app: string;
  start_module: string;
  profile: string;
}

export interface DevStatus {
  project: ProjectView;
  /** `starting`, `building`, `ok`, `failed` or `error`. */
  phase: string;
  app_port: number | null;
  app_url: string | null;
  dashboard_port: number;
  current_build: BuildView | null;
  last_good_build: BuildView | null;
  serving_sha256: string | null;
  n_diagnostics: number;
  warnings: string[];
}

export interface DiagnosticView {
  file: string | null;
  line: number;
  column: number;
  severity: string;
  source: string;
  message: string;
  rendered: string;
}

export interface DashboardDiagnostics {
  build_id: number | null;
  result: string | null;
  diagnostics: DiagnosticView[];
}

export interface DashboardRoute {
  path: string;
  handler: string;
  target: string | null;
  methods: string[];
  /** 1-based line of the route tuple in `file`. */
  line: number;
}

export interface DashboardRoutes {
  /** The scanned file, relative to the project root; null when no routes were found. */
  file: string | null;
  routes: DashboardRoute[];
}

/** One server-sent event. */
export interface SseEvent {
  event: string;
  data: string;
}

export type DashboardErrorKind = 'unreachable' | 'http' | 'protocol';

export class DashboardError extends Error {
  constructor(
    readonly kind: DashboardErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DashboardError';
  }
}

/** Largest JSON reply accepted (1000 history rows are ~300 KB). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** Largest pending SSE event (the daemon cuts console lines at 4 KB). */
export const MAX_EVENT_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;

// ---- shape checks: one line each, naming the field that is wrong ----------------------------

function obj(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new DashboardError('protocol', `${what}: expected an object, got ${describe(v)}`);
  }
  return v as Json;
}

function field<T>(o: Json, key: string, what: string, ok: (v: unknown) => boolean, want: string): T {
  if (!ok(o[key])) {
    throw new DashboardError('protocol', `${what}.${key}: expected ${want}, got ${describe(o[key])}`);
  }
  return o[key] as T;
}

const isStr = (v: unknown): boolean => typeof v === 'string';
const isInt = (v: unknown): boolean => Number.isInteger(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isIntOrNull = (v: unknown): boolean => v === null || Number.isInteger(v);
const isStrList = (v: unknown): boolean => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function parseBuild(v: unknown, what = 'build'): BuildView {
  const o = obj(v, what);
  for (const k of ['id', 'started_at_ms', 'duration_ms', 'n_errors', 'n_warnings', 'n_compiled', 'n_modules']) {
    field(o, k, what, isInt, 'an integer');
  }
  field(o, 'result', what, isStr, 'a string');
  field(o, 'trigger', what, isStr, 'a string');
  field(o, 'bundle_sha256', what, isStrOrNull, 'a string or null');
  field(o, 'bundle_size', what, isIntOrNull, 'an integer or null');
  if ('poisoned_calls' in o) field(o, 'poisoned_calls', what, isStrList, 'an array of strings');
  if ('load_error' in o) field(o, 'load_error', what, isStrOrNull, 'a string or null');
  return o as unknown as BuildView;
}

export function parseStatus(v: unknown): DevStatus {
  const o = obj(v, 'status');
  const p = obj(o.project, 'status.project');
  for (const k of ['root', 'app', 'start_module', 'profile']) field(p, k, 'status.project', isStr, 'a string');
  field(o, 'phase', 'status', isStr, 'a string');
  field(o, 'app_port', 'status', isIntOrNull, 'an integer or null');
  field(o, 'dashboard_port', 'status', isInt, 'an integer');
  field(o, 'warnings', 'status', isStrList, 'an array of strings');
  for (const k of ['current_build', 'last_good_build']) {
    if (o[k] !== null) parseBuild(o[k], `status.${k}`);
  }
  return {
    project: p as unknown as ProjectView,
    phase: o.phase as string,
    app_port: o.app_port as number | null,
    app_url: typeof o.app_url === 'string' ? o.app_url : null,
    dashboard_port: o.dashboard_port as number,
    current_build: (o.current_build ?? null) as BuildView | null,
    last_good_build: (o.last_good_build ?? null) as BuildView | null,
    serving_sha256: typeof o.serving_sha256 === 'string' ? o.serving_sha256 : null,
    n_diagnostics: Number.isInteger(o.n_diagnostics) ? (o.n_diagnostics as number) : 0,
    warnings: o.warnings as string[],
  };
}

export function parseBuilds(v: unknown): BuildView[] {
  const o = obj(v, 'builds');
  if (!Array.isArray(o.builds)) {
    throw new DashboardError('protocol', `builds.builds: expected an array, got ${describe(o.builds)}`);
  }
  return o.builds.map((b, i) => parseBuild(b, `builds[${i}]`));
}

export function parseDiagnostics(v: unknown): DashboardDiagnostics {
  const o = obj(v, 'diagnostics');
  field(o, 'build_id', 'diagnostics', isIntOrNull, 'an integer or null');
  field(o, 'result', 'diagnostics', isStrOrNull, 'a string or null');
  if (!Array.isArray(o.diagnostics)) {
    throw new DashboardError('protocol', `diagnostics.diagnostics: expected an array, got ${describe(o.diagnostics)}`);
  }
  o.diagnostics.forEach((d, i) => {
    const w = `diagnostics[${i}]`;
    const x = obj(d, w);
    field(x, 'file', w, isStrOrNull, 'a string or null');
    for (const k of ['line', 'column']) field(x, k, w, isInt, 'an integer');
    for (const k of ['severity', 'source', 'message', 'rendered']) field(x, k, w, isStr, 'a string');
  });
  return o as unknown as DashboardDiagnostics;
}

export function parseRoutesReply(v: unknown): DashboardRoutes {
  const o = obj(v, 'routes');
  field(o, 'file', 'routes', isStrOrNull, 'a string or null');
  if (!Array.isArray(o.routes)) {
    throw new DashboardError('protocol', `routes.routes: expected an array, got ${describe(o.routes)}`);
  }
  o.routes.forEach((r, i) => {
    const w = `routes[${i}]`;
    const x = obj(r, w);
    field(x, 'path', w, isStr, 'a string');
    field(x, 'handler', w, isStr, 'a string');
    field(x, 'target', w, isStrOrNull, 'a string or null');
    field(x, 'methods', w, isStrList, 'an array of strings');
    field(x, 'line', w, isInt, 'an integer');
  });
  return o as unknown as DashboardRoutes;
}

// ---- SSE ------------------------------------------------------------------------------------

/**
 * Incremental `text/event-stream` parser (WHATWG HTML, "Server-sent events" §9.2.6): lines end in
 * CRLF, LF or CR; `:` lines are comments (the daemon's keep-alives); `data:` lines join with `\n`;
 * one space after the colon is dropped; a blank line dispatches the event (default type `message`).
 */
export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private dataBytes = 0;

  /** Feeds a chunk; returns the events it completed. Throws when one event outgrows `maxBytes`. */
  feed(chunk: string, maxBytes = MAX_EVENT_BYTES): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (!m || (m[0] === '\r' && m.index === this.buf.length - 1)) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line, out);
    }
    if (this.buf.length + this.dataBytes > maxBytes) {
      throw new DashboardError('protocol', `event stream: an event is larger than ${maxBytes} bytes`);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') {
      if (this.data.length > 0) out.push({ event: this.event || 'message', data: this.data.join('\n') });
      this.event = '';
      this.data = [];
      this.dataBytes = 0;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.event = value;
    else if (name === 'data') {
      this.data.push(value);
      this.dataBytes += value.length + 1;
    }
    // `id` and `retry` are not used by the daemon; unknown fields are ignored per the spec.
  }
}

// ---- the client -----------------------------------------------------------------------------

export interface Subscription {
  close(): void;
}

export class DashboardClient {
  readonly base: string;

  constructor(
    readonly port: number,
    readonly host = '127.0.0.1',
    private readonly timeoutMs = 3000,
  ) {
    this.base = `http://${host}:${port}`;
  }

  status(): Promise<DevStatus> {
    return this.getJson('/api/status').then(parseStatus);
  }

  builds(limit = 50): Promise<BuildView[]> {
    return this.getJson(`/api/builds?limit=${Math.max(1, Math.min(1000, Math.floor(limit)))}`).then(parseBuilds);
  }

  diagnostics(): Promise<DashboardDiagnostics> {
    return this.getJson('/api/diagnostics').then(parseDiagnostics);
  }

  routes(): Promise<DashboardRoutes> {
    return this.getJson('/api/routes').then(parseRoutesReply);
  }

  private unreachable(err: Error): DashboardError {
    return new DashboardError(
      'unreachable',
      `no avmd dev dashboard at ${this.base} (${err.message}); start one with "avmd: Start Dev Loop" ` +
        'or set avmd.dashboardPort to the port `avmd dev` printed',
    );
  }

  /** GET `path`, at most `MAX_REPLY_BYTES`, parsed as JSON; errors say what went wrong where. */
  getJson(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: this.host, port: this.port, path, headers: { accept: 'application/json' }, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_REPLY_BYTES) {
              req.destroy();
              reject(new DashboardError('protocol', `${this.base}${path}: reply larger than ${MAX_REPLY_BYTES} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => reject(this.unreachable(e)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              const status = res.statusCode ?? 0;
              const kind = status >= 200 && status < 300 ? 'protocol' : 'http';
              reject(new DashboardError(kind, `${this.base}${path}: HTTP ${status}, not JSON: ${describe(text)}`));
              return;
            }
            if (res.statusCode !== 200) {
              // The API's errors are `{"error": "..."}`.
              const msg =
                typeof body === 'object' && body !== null && typeof (body as Json).error === 'string'
                  ? ((body as Json).error as string)
                  : describe(body);
              reject(new DashboardError('http', `${this.base}${path}: HTTP ${res.statusCode}: ${msg}`));
              return;
            }
            resolve(body);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${this.timeoutMs} ms`)));
      req.on('error', (e) => reject(e instanceof DashboardError ? e : this.unreachable(e)));
    });
  }

  /**
   * Opens `/api/events`. `onEvent` gets each event; `onEnd` is called once when the stream ends,
   * with the reason (undefined after `close()`). Reconnecting is the caller's choice.
   */
  subscribe(onEvent: (e: SseEvent) => void, onEnd: (err?: Error) => void): Subscription {
    const parser = new SseParser();
    let ended = false;
    const end = (err?: Error): void => {
      if (!ended) {
        ended = true;
        onEnd(err);
      }
    };
    const req = http.get(
      { host: this.host, port: this.port, path: '/api/events', headers: { accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          end(new DashboardError('http', `${this.base}/api/events: HTTP ${res.statusCode}`));
          req.destroy();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          let events: SseEvent[];
          try {
            events = parser.feed(chunk);
          } catch (e) {
            end(e as Error);
            req.destroy();
            return;
          }
          for (const ev of events) if (!ended) onEvent(ev);
        });
        res.on('end', () => end(new DashboardError('unreachable', `${this.base}/api/events: the stream ended`)));
        res.on('error', (e) => end(this.unreachable(e)));
      },
    );
    req.on('error', (e) => end(this.unreachable(e)));
    return {
      close: () => {
        end();
        req.destroy();
      },
    };
  }
}

// ---- the status-bar item's content (pure) ---------------------------------------------------

export type StatusTone = 'off' | 'busy' | 'ok' | 'warning' | 'error';

export interface StatusView {
  /** Status-bar text (may use `$(icon)` syntax). */
  text: string;
  tooltip: string;
  tone: StatusTone;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function buildLine(b: BuildView): string {
  const counts = `${b.n_compiled} compiled / ${b.n_modules} modules`;
  return `build #${b.id} ${b.result} in ${b.duration_ms} ms (${counts}), triggered by ${b.trigger}`;
}

/** What the status-bar item shows for a status (or for no dashboard, with the reason). */
export function statusView(status: DevStatus | null, unreachableReason?: string): StatusView {
  if (status === null) {
    return {
      text: '$(circle-slash) avmd dev',
      tooltip: `avmd dev is not running. ${unreachableReason ?? ''}`.trim(),
      tone: 'off',
    };
  }
  const b = status.current_build;
  const where = `${status.project.app} (${status.project.profile})`;
  const serving = status.app_url ? `\nServing ${status.app_url}` : '';
  if (status.phase === 'starting' || status.phase === 'building' || b === null) {
    return { text: `$(sync~spin) avmd ${status.phase}`, tooltip: `${where}: ${status.phase}…${serving}`, tone: 'busy' };
  }
  const line = `${where}: ${buildLine(b)}`;
  switch (b.result) {
    case 'ok':
    case 'unchanged': {
      const warn = b.n_warnings > 0 ? `, ${plural(b.n_warnings, 'warning')}` : '';
      const poisoned = (b.poisoned_calls ?? []).length;
      const extra = poisoned > 0 ? `\n${plural(poisoned, 'call')} the device lacks will fail with undef` : '';
      return {
        text: `$(${warn ? 'warning' : 'check'}) avmd ${b.result} ${b.duration_ms} ms${warn}`,
        tooltip: line + extra + serving,
        tone: warn || poisoned > 0 ? 'warning' : 'ok',
      };
    }
    case 'failed':
      return {
        text: `$(error) avmd ${plural(b.n_errors, 'error')}`,
        tooltip:
          `${line}\n${plural(b.n_errors, 'error')}, ${plural(b.n_warnings, 'warning')}; ` +
          `the last good bundle keeps serving${serving}`,
        tone: 'error',
      };
    default:
      return {
        text: '$(alert) avmd error',
        tooltip: `${line}\n${b.load_error ?? 'the compile VM or the host runtime failed'}${serving}`,
        tone: 'error',
      };
  }
}
