/**
 * `avmd/buildStatus` (server → client notification, docs/lsp.md): its shape, a check, and the text of
 * the build status-bar item (pure; no `vscode` import).
 */
import { ProtocolError, describe } from './lsp_ext';
import type { StatusView } from './status_view';

export const BUILD_STATUS_METHOD = 'avmd/buildStatus';

export type BuildState = 'building' | 'ok' | 'error' | 'broken';

export interface BuildStatus {
  root: string;
  state: BuildState;
  errors: number;
  warnings: number;
  sha256?: string;
  size?: number;
  partitionSize: number;
  lastError?: string;
  durationMs: number;
}

const STATES: BuildState[] = ['building', 'ok', 'error', 'broken'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a notification's params; a server that sends something else gets an error naming the field. */
export function parseBuildStatus(v: unknown): BuildStatus {
  const at = BUILD_STATUS_METHOD;
  if (!isObject(v)) throw new ProtocolError(`${at}: expected an object, got ${describe(v)}`);
  if (typeof v.root !== 'string') throw new ProtocolError(`${at}.root: expected a string`);
  if (!STATES.includes(v.state as BuildState)) throw new ProtocolError(`${at}.state: expected one of ${STATES.join(', ')}`);
  for (const k of ['errors', 'warnings', 'partitionSize', 'durationMs'] as const) {
    if (!Number.isInteger(v[k]) || (v[k] as number) < 0) throw new ProtocolError(`${at}.${k}: expected a non-negative integer`);
  }
  const opt = <T>(k: string, ok: (x: unknown) => boolean): T | undefined => {
    if (v[k] === undefined || v[k] === null) return undefined;
    if (!ok(v[k])) throw new ProtocolError(`${at}.${k}: unexpected ${describe(v[k])}`);
    return v[k] as T;
  };
  return {
    root: v.root,
    state: v.state as BuildState,
    errors: v.errors as number,
    warnings: v.warnings as number,
    sha256: opt<string>('sha256', (x) => typeof x === 'string'),
    size: opt<number>('size', (x) => Number.isInteger(x)),
    partitionSize: v.partitionSize as number,
    lastError: opt<string>('lastError', (x) => typeof x === 'string'),
    durationMs: v.durationMs as number,
  };
}

/** `58.3 KB`, `1 MB`: sizes as people read them (1024-based, as partitions are sized). */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1).replace(/\.0$/, '')} KB`;
  return `${(n / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What the build item shows: state, bundle size against the partition, the selected device. */
export function buildStatusView(s: BuildStatus | null, device?: string): StatusView {
  const dev = device ? ` → ${device}` : '';
  const devTip = device ? `\nPush target: ${device}` : '';
  if (s === null) {
    return { text: `$(circle-outline) avmd${dev}`, tooltip: `avmd: no build yet${devTip}`, tone: 'off' };
  }
  switch (s.state) {
    case 'building':
      return { text: `$(sync~spin) avmd building${dev}`, tooltip: `Building ${s.root}${devTip}`, tone: 'busy' };
    case 'ok': {
      const size = s.size ?? 0;
      const pct = s.partitionSize > 0 ? Math.round((100 * size) / s.partitionSize) : 0;
      const warn = s.warnings > 0 ? ` ${plural(s.warnings, 'warning')}` : '';
      return {
        text: `$(${warn ? 'warning' : 'check'}) avmd ${bytesText(size)}/${bytesText(s.partitionSize)}${warn}${dev}`,
        tooltip:
          `Bundle ${bytesText(size)} of the ${bytesText(s.partitionSize)} partition (${pct}%), ` +
          `sha256 ${(s.sha256 ?? '').slice(0, 12)}, built in ${s.durationMs} ms${warn ? `;${warn}` : ''}${devTip}\n` +
          'Click: open the dashboard',
        tone: warn || pct > 90 ? 'warning' : 'ok',
      };
    }
    case 'error':
      return {
        text: `$(error) avmd ${plural(s.errors, 'error')}${dev}`,
        tooltip: `${s.lastError ?? 'the build failed'}${devTip}\nClick: show the problem`,
        tone: 'error',
      };
    default:
      return {
        text: `$(alert) avmd broken${dev}`,
        tooltip: `${s.lastError ?? 'the build could not run'}${devTip}`,
        tone: 'error',
      };
  }
}

/**
 * The status of an `avmd build --json` run (the Build command), in the notification's shape, so the
 * status item shows a build the same whoever ran it. `partitionSize` falls back to `knownPartition`
 * when the build made no bundle.
 */
export function fromBuildJson(root: string, v: unknown, knownPartition = 0): BuildStatus {
  if (!isObject(v) || !Array.isArray(v.diagnostics)) {
    throw new ProtocolError(`avmd build --json: expected {bundle, sha256, size, diagnostics, ...}, got ${describe(v)}`);
  }
  const diags = v.diagnostics.filter(isObject);
  const errors = diags.filter((d) => d.severity === 'error');
  const made = typeof v.sha256 === 'string';
  return {
    root,
    state: made ? 'ok' : 'error',
    errors: errors.length,
    warnings: diags.filter((d) => d.severity === 'warning').length,
    sha256: made ? (v.sha256 as string) : undefined,
    size: Number.isInteger(v.size) ? (v.size as number) : undefined,
    partitionSize: Number.isInteger(v.partition_size) ? (v.partition_size as number) : knownPartition,
    lastError: typeof errors[0]?.message === 'string' ? (errors[0].message as string) : undefined,
    durationMs: Number.isInteger(v.duration_ms) ? (v.duration_ms as number) : 0,
  };
}
