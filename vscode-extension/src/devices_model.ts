/**
 * The devices as `avmd devices --json` lists them and pushes as `avmd push --json` reports them
 * (docs/ota.md), checked and turned into what the Devices view shows (pure; no `vscode` import).
 */
import { ProtocolError, describe } from './lsp_ext';

export interface Device {
  name: string;
  address: string;
  online: boolean;
  version?: string;
  sha256?: string;
  /** Against the project's newest build; undefined when either is unknown. */
  outdated?: boolean;
  trial?: boolean;
  /** A simulated device's console log (`avmd sim`). */
  consolePath?: string;
}

export interface PushOutcome {
  device: string;
  result: string;
  detail: string;
  bytesSent: number;
  durationMs: number;
  runningSha256?: string;
}

export interface PushReport {
  sha256: string;
  size: number;
  outcomes: PushOutcome[];
}

/** One line of `avmd push --json`'s stderr: `{"event":"progress","device","sent","total"}`. */
export interface PushProgress {
  device: string;
  sent: number;
  total: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

export function parseDevices(reply: unknown): Device[] {
  if (!Array.isArray(reply)) throw new ProtocolError(`avmd devices --json: expected an array, got ${describe(reply)}`);
  return reply.map((r: unknown, i: number) => {
    if (!isObject(r) || typeof r.name !== 'string' || typeof r.address !== 'string') {
      throw new ProtocolError(`avmd devices --json[${i}]: expected {name, address, ...}`);
    }
    return {
      name: r.name,
      address: r.address,
      online: r.online === true,
      version: str(r.version),
      sha256: str(r.sha256),
      outdated: bool(r.outdated),
      trial: bool(r.trial),
      consolePath: str(r.console_path),
    };
  });
}

export function parsePushReport(reply: unknown): PushReport {
  if (!isObject(reply) || typeof reply.sha256 !== 'string' || !Array.isArray(reply.outcomes)) {
    throw new ProtocolError(`avmd push --json: expected {sha256, size, outcomes}, got ${describe(reply)}`);
  }
  return {
    sha256: reply.sha256,
    size: Number(reply.size) || 0,
    outcomes: reply.outcomes.map((o: unknown, i: number) => {
      if (!isObject(o) || typeof o.device !== 'string' || typeof o.result !== 'string') {
        throw new ProtocolError(`avmd push --json: outcomes[${i}]: expected {device, result, ...}`);
      }
      return {
        device: o.device,
        result: o.result,
        detail: str(o.detail) ?? '',
        bytesSent: Number(o.bytes_sent) || 0,
        durationMs: Number(o.duration_ms) || 0,
        runningSha256: str(o.running_sha256),
      };
    }),
  };
}

/** A progress line, or null for any other line (log output, a line cut short). */
export function parseProgressLine(line: string): PushProgress | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(v) || v.event !== 'progress' || typeof v.device !== 'string') return null;
  const sent = Number(v.sent);
  const total = Number(v.total);
  if (!Number.isFinite(sent) || !Number.isFinite(total) || total <= 0) return null;
  return { device: v.device, sent, total };
}

/** What the Devices view shows for one device. */
export interface DeviceView {
  label: string;
  description: string;
  tooltip: string;
  /** `device-online`, `device-outdated`, `device-offline`: the view's context value for its actions. */
  contextValue: string;
  icon: 'pass' | 'warning' | 'circle-slash' | 'sync';
}

export function deviceView(d: Device, lastPush?: PushOutcome): DeviceView {
  const version = d.version ?? (d.sha256 ? d.sha256.slice(0, 12) : 'unknown build');
  const state = !d.online
    ? 'offline'
    : d.trial
      ? 'trial boot'
      : d.outdated === true
        ? 'out of date'
        : d.outdated === false
          ? 'current'
          : 'online';
  const push = lastPush ? ` · last push ${lastPush.result}` : '';
  return {
    label: d.name,
    description: `${version} · ${state}${push}`,
    tooltip:
      `${d.name} at ${d.address}\nrunning ${d.sha256 ?? '?'}${d.version ? ` (${d.version})` : ''}\n${state}` +
      (lastPush ? `\nlast push: ${lastPush.result}${lastPush.detail ? ` — ${lastPush.detail}` : ''}` : ''),
    contextValue: !d.online ? 'device-offline' : d.outdated ? 'device-outdated' : 'device-online',
    icon: !d.online ? 'circle-slash' : d.trial ? 'sync' : d.outdated ? 'warning' : 'pass',
  };
}

/** The one-line result of a push, as the notification says it. */
export function pushSummary(r: PushReport): string {
  const ok = r.outcomes.filter((o) => o.result === 'updated' || o.result === 'up_to_date');
  const lines = r.outcomes.map((o) => {
    const running = o.runningSha256 ? `, running ${o.runningSha256.slice(0, 12)}` : '';
    return `${o.device}: ${o.result}${running}${o.detail && !ok.includes(o) ? ` (${o.detail})` : ''}`;
  });
  return `${ok.length} of ${r.outcomes.length} device(s) run ${r.sha256.slice(0, 12)}: ${lines.join('; ')}`;
}
