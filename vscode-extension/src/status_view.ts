/** The text and tone of the build status bar item, from a dashboard status (pure). */
import type { BuildView, DevStatus } from './dashboard_types';

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
