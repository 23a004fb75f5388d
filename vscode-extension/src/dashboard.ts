/**
 * A small typed client of the `avmd dev` dashboard's JSON API (docs/dev.md): `/api/status`,
 * `/api/builds`, `/api/diagnostics`, `/api/routes` and the `/api/events` SSE stream. Node's `http`
 * only (no `vscode` import); every reply is size-bounded and shape-checked (`dashboard_types`), and
 * every failure is a `DashboardError` saying what to do. The shapes, the SSE parser and the status
 * bar's text live beside it and are re-exported here.
 */
import * as http from 'node:http';

import { describe } from './lsp_ext';
import {
  BuildView,
  DashboardDiagnostics,
  DashboardError,
  DashboardRoutes,
  DevStatus,
  parseBuilds,
  parseDiagnostics,
  parseRoutesReply,
  parseStatus,
} from './dashboard_types';
import { SseEvent, SseParser } from './sse';

export * from './dashboard_types';
export * from './sse';
export * from './status_view';

type Json = Record<string, unknown>;

/** Largest JSON reply accepted (1000 history rows are ~300 KB). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;

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
