/**
 * Finds the `avmd` executable the extension talks to, in this order: the `avmd.path` setting, then
 * `avmd` on `PATH`, then `target/release/avmd` and `target/debug/avmd` in each workspace folder (a
 * checkout of avmd itself). Each candidate must answer `--version` with `avmd X.Y.Z`. When none
 * does, the error lists what was tried and names the fix. No `vscode` import: the caller passes
 * the setting, `PATH` and the folders, so the search runs under plain node in the tests.
 */
import { execFile } from 'node:child_process';
import { constants as fsc, promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Where a server was found. */
export type ServerSource = 'setting' | 'PATH' | 'workspace';

export interface FoundServer {
  path: string;
  /** e.g. `0.1.0` */
  version: string;
  source: ServerSource;
}

export interface SearchInput {
  /** The `avmd.path` setting ('' or undefined when unset); `~` and relative paths are resolved. */
  configuredPath?: string;
  /** The `PATH` to search (usually `process.env.PATH`). */
  envPath?: string;
  /** Workspace folder paths, searched for `target/{release,debug}/avmd`. */
  workspaceFolders: string[];
  /** Home directory, for `~/` in the setting. */
  home?: string;
  platform?: NodeJS.Platform;
  /** How long `--version` may take. */
  timeoutMs?: number;
}

/** No usable server; `message` lists the candidates tried and the fix. */
export class ServerNotFound extends Error {
  constructor(
    message: string,
    readonly tried: string[],
  ) {
    super(message);
    this.name = 'ServerNotFound';
  }
}

const VERSION_RE = /^avmd (\d+\.\d+\.\d+\S*)/;

/**
 * Runs `<exe> --version` and returns the version, or throws with why the file is not avmd.
 */
export function checkVersion(exe: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(exe, ['--version'], { timeout: timeoutMs, maxBuffer: 64 * 1024, windowsHide: true }, (err, stdout) => {
      if (err) {
        const why = (err as NodeJS.ErrnoException).code === 'EACCES' ? 'not executable' : err.message.split('\n')[0];
        reject(new Error(`${exe} --version failed: ${why}`));
        return;
      }
      const m = VERSION_RE.exec(stdout.trim());
      if (!m) {
        reject(new Error(`${exe} --version printed ${JSON.stringify(stdout.trim().slice(0, 80))}, not "avmd X.Y.Z"`));
        return;
      }
      resolve(m[1]);
    });
  });
}

async function isExecutableFile(p: string): Promise<boolean> {
  try {
    const st = await fs.stat(p);
    if (!st.isFile()) return false;
    await fs.access(p, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Candidate paths, in search order, each with its source. Pure apart from reading nothing. */
export function candidates(input: SearchInput): { path: string; source: ServerSource }[] {
  const platform = input.platform ?? process.platform;
  const exe = platform === 'win32' ? 'avmd.exe' : 'avmd';
  const out: { path: string; source: ServerSource }[] = [];
  const sep = platform === 'win32' ? ';' : ':';
  for (const dir of (input.envPath ?? '').split(sep)) {
    // An empty PATH entry means the current directory, which is not where an editor should
    // pick up executables from.
    if (dir !== '' && path.isAbsolute(dir)) out.push({ path: path.join(dir, exe), source: 'PATH' });
  }
  for (const folder of input.workspaceFolders) {
    for (const profile of ['release', 'debug']) {
      out.push({ path: path.join(folder, 'target', profile, exe), source: 'workspace' });
    }
  }
  return out;
}

/** Resolves the setting's value: `~/x` against home, a relative path against the first folder. */
export function resolveConfigured(p: string, input: SearchInput): string {
  if (p === '~' || p.startsWith('~/')) return path.join(input.home ?? '', p.slice(1));
  if (path.isAbsolute(p)) return p;
  return path.resolve(input.workspaceFolders[0] ?? process.cwd(), p);
}

/** Finds the server (see the module doc). */
export async function findServer(input: SearchInput): Promise<FoundServer> {
  const timeout = input.timeoutMs ?? 5000;
  const configured = (input.configuredPath ?? '').trim();
  if (configured !== '') {
    // An explicit setting is obeyed: falling back to another avmd would hide the mistake.
    const p = resolveConfigured(configured, input);
    try {
      return { path: p, version: await checkVersion(p, timeout), source: 'setting' };
    } catch (e) {
      throw new ServerNotFound(
        `The avmd.path setting (${JSON.stringify(configured)}) does not point at a working avmd: ` +
          `${(e as Error).message}. Fix the setting, or clear it to search PATH and the workspace.`,
        [p],
      );
    }
  }
  const tried: string[] = [];
  const failures: string[] = [];
  for (const c of candidates(input)) {
    if (!(await isExecutableFile(c.path))) {
      if (c.source === 'workspace') tried.push(c.path);
      continue;
    }
    tried.push(c.path);
    try {
      return { path: c.path, version: await checkVersion(c.path, timeout), source: c.source };
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  const where = ['`avmd` on PATH', ...tried.filter((t) => !failures.some((f) => f.startsWith(t)))].join(', ');
  throw new ServerNotFound(
    `avmd was not found (looked for ${where})` +
      (failures.length > 0 ? `; rejected: ${failures.join('; ')}` : '') +
      '. Install it (`cargo install --path daemon` in the avmd checkout, or run scripts/setup.sh) ' +
      'or set avmd.path to the avmd executable.',
    tried,
  );
}

/** Marker files of a project `avmd` can build (docs/building.md). */
export const PROJECT_FILES = ['avmd.toml', 'rebar.config', 'mix.exs'];

/** The workspace folders that hold a project, in the folders' order. */
export async function projectDirs(folders: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of folders) {
    for (const name of PROJECT_FILES) {
      try {
        if ((await fs.stat(path.join(f, name))).isFile()) {
          out.push(f);
          break;
        }
      } catch {
        // not this marker
      }
    }
  }
  return out;
}
