/**
 * Runs the `avmd` binary for the commands that are not the language server (`devices --json`,
 * `push --json`, `build --json`): collects stdout (bounded), streams stderr lines, and can be
 * cancelled. Node's child_process only (no `vscode` import).
 */
import { spawn } from 'node:child_process';

/** Largest stdout accepted (a fleet's push report is a few KB). */
export const MAX_STDOUT = 8 * 1024 * 1024;

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onStderrLine?: (line: string) => void;
  /** Aborting kills the process (SIGINT first, as Ctrl-C would). */
  signal?: AbortSignal;
  timeoutMs?: number;
}

export function runAvmd(bin: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let rest = '';
    let over = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (stdout.length + d.length > MAX_STDOUT) {
        over = true;
        child.kill('SIGKILL');
      } else stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_STDOUT) stderr += d;
      const parts = (rest + d).split('\n');
      rest = parts.pop() ?? '';
      for (const l of parts) opts.onStderrLine?.(l);
    });
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    const abort = (): void => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    };
    opts.signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`could not run ${bin}: ${e.message}`));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
      if (rest) opts.onStderrLine?.(rest);
      if (over) reject(new Error(`avmd ${args[0]} printed more than ${MAX_STDOUT} bytes`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** Parses the JSON a `--json` command printed, or says what went wrong (with its stderr). */
export function jsonOf(args: string[], r: RunResult): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch {
    const why = r.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${r.code}`;
    throw new Error(`avmd ${args.join(' ')} failed: ${why}`);
  }
}
