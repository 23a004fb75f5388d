/**
 * The shapes of the `avmd dev` dashboard's JSON API (docs/dev.md) and their checks: each reply is
 * shape-checked field by field, and a wrong one is a `DashboardError` naming the field. Pure.
 */
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
