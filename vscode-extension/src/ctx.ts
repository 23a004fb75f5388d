/**
 * The extension's state: the settings, the language client (`avmd lsp` over stdio), the build
 * status-bar item fed by `avmd/buildStatus`, the dev item fed by the dev dashboard, the Routes and
 * Devices views, the selected device, and everything that must be disposed. One `Ctx` per
 * activation; commands get it and never keep their own state.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';

import { FoundServer, findServer } from './bootstrap';
import { BUILD_STATUS_METHOD, BuildStatus, buildStatusView, parseBuildStatus } from './build_status';
import { DashboardClient, DevStatus, StatusView, Subscription, statusView } from './dashboard';
import { ROUTES_METHOD, parseRoutes } from './lsp_ext';
import { DevicesView, RoutesView } from './views';

/** Longest wait between reconnect attempts to a dashboard that is not there. */
const MAX_RETRY_MS = 30_000;

export interface Config {
  path: string;
  dashboardPort: number;
  /** The device pushes go to when none is picked ("" = ask). */
  defaultDevice: string;
  /** `--vm` for Start Dev Loop and Start Simulated Devices: `host` or `atomvm`. */
  vm: string;
  /** A device profile to check and run as instead of the project's (`AVMD_PROFILE`); "" = the project's. */
  profile: string;
}

export function readConfig(): Config {
  const c = vscode.workspace.getConfiguration('avmd');
  const port = c.get<number>('dashboardPort', 8081);
  const vm = c.get<string>('vm', 'host');
  return {
    path: c.get<string>('path', ''),
    dashboardPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : 8081,
    defaultDevice: c.get<string>('defaultDevice', ''),
    vm: vm === 'atomvm' ? 'atomvm' : 'host',
    profile: c.get<string>('profile', '').trim(),
  };
}

/** The environment every `avmd` the extension starts gets: the profile override, when one is set. */
export function avmdEnv(config: Config): NodeJS.ProcessEnv {
  return config.profile ? { ...process.env, AVMD_PROFILE: config.profile } : { ...process.env };
}

function tone(item: vscode.StatusBarItem, v: StatusView): void {
  item.text = v.text;
  item.tooltip = v.tooltip;
  item.backgroundColor =
    v.tone === 'error'
      ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : v.tone === 'warning'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : undefined;
  item.show();
}

export function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
}

export class Ctx implements vscode.Disposable {
  config: Config = readConfig();
  server: FoundServer | undefined;
  client: LanguageClient | undefined;
  readonly output: vscode.OutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly buildItem: vscode.StatusBarItem;
  readonly routesView = new RoutesView();
  readonly devicesView = new DevicesView();
  buildStatus: BuildStatus | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private sub: Subscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = 1000;
  /** Bumped by each (re)connect so answers to an older attempt are dropped. */
  private generation = 0;
  private disposed = false;
  lastStatus: DevStatus | null = null;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('avmd');
    this.buildItem = vscode.window.createStatusBarItem('avmd.build', vscode.StatusBarAlignment.Left, 11);
    this.buildItem.name = 'avmd build';
    this.buildItem.command = 'avmd.statusClick';
    this.statusItem = vscode.window.createStatusBarItem('avmd.dev', vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = 'avmd dev';
    this.statusItem.command = 'avmd.openDashboard';
    this.devicesView.selected = extension.workspaceState.get<string>('avmd.selectedDevice') || this.config.defaultDevice || undefined;
    const routesTree = vscode.window.createTreeView('avmd.routes', { treeDataProvider: this.routesView });
    const devicesTree = vscode.window.createTreeView('avmd.devices', { treeDataProvider: this.devicesView });
    this.routesView.onDidChangeTreeData(() => {
      routesTree.message = this.routesView.message();
      routesTree.description = this.routesView.count > 0 ? String(this.routesView.count) : undefined;
    });
    this.disposables.push(
      this.output,
      this.statusItem,
      this.buildItem,
      routesTree,
      devicesTree,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigChange(e)),
    );
    this.showBuild();
    extension.subscriptions.push(this);
  }

  /** The device pushes go to: the one picked with Select Device, else the `avmd.defaultDevice` setting. */
  get selectedDevice(): string | undefined {
    return this.devicesView.selected;
  }

  async selectDevice(name: string | undefined): Promise<void> {
    this.devicesView.selected = name;
    await this.extension.workspaceState.update('avmd.selectedDevice', name);
    this.devicesView.set(this.devicesView.devices);
    this.showBuild();
  }

  /** Shows a build's status (from the server's notification, or from the Build command). */
  showBuild(status?: BuildStatus): void {
    if (status) this.buildStatus = status;
    tone(this.buildItem, buildStatusView(this.buildStatus, this.selectedDevice));
  }

  /** Reads the route map from the language server into the Routes view. */
  async refreshRoutes(): Promise<void> {
    const client = this.client;
    if (!client?.isRunning()) {
      this.routesView.set([], 'The language server is not running.');
      return;
    }
    const routes = parseRoutes(await client.sendRequest(ROUTES_METHOD, {}));
    this.routesView.set(routes, 'No routes: the route map is read from {<<"/path">>, Handler, Opts} tuples in the start module.');
  }

  get dashboard(): DashboardClient {
    return new DashboardClient(this.config.dashboardPort);
  }

  /** Finds `avmd` and starts the language client. Throws (with a message naming the fix) on failure. */
  async start(): Promise<void> {
    this.watchDashboard();
    this.server = await findServer({
      configuredPath: this.config.path,
      envPath: process.env.PATH,
      workspaceFolders: workspaceFolderPaths(),
      home: os.homedir(),
    });
    this.output.appendLine(`avmd ${this.server.version} at ${this.server.path} (from ${this.server.source})`);
    const serverOptions: ServerOptions = {
      command: this.server.path,
      args: ['lsp'],
      transport: TransportKind.stdio,
      options: { cwd: workspaceFolderPaths()[0], env: avmdEnv(this.config) },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'erlang' },
        { scheme: 'file', language: 'elixir' },
        { scheme: 'file', pattern: '**/avmd.toml' },
      ],
      outputChannel: this.output,
      // `open in browser` lenses point at avmd dev's app, which listens one below its dashboard.
      initializationOptions: { devUrl: `http://127.0.0.1:${this.config.dashboardPort - 1}` },
    };
    const client = new LanguageClient('avmd', 'avmd language server', serverOptions, clientOptions);
    this.client = client;
    client.onNotification(BUILD_STATUS_METHOD, (params: unknown) => {
      try {
        this.showBuild(parseBuildStatus(params));
      } catch (e) {
        this.output.appendLine(`${BUILD_STATUS_METHOD}: ${(e as Error).message}`);
        return;
      }
      if (this.buildStatus?.state !== 'building') {
        this.refreshRoutes().catch((e: Error) => this.output.appendLine(`routes: ${e.message}`));
      }
    });
    await client.start();
    await this.refreshRoutes().catch((e: Error) => this.output.appendLine(`routes: ${e.message}`));
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.stop().catch((e: unknown) => this.output.appendLine(`stopping the server: ${String(e)}`));
  }

  /** Stops the client, finds the server again (the setting may have changed) and starts it. */
  async restart(): Promise<void> {
    await this.stop();
    this.config = readConfig();
    await this.start();
  }

  /** The `avmd` executable, or an error saying how to get one. */
  binary(): string {
    if (!this.server) {
      throw new Error('avmd was not found; set avmd.path or install avmd, then run "avmd: Restart Language Server".');
    }
    return this.server.path;
  }

  /**
   * Runs `avmd ARGS` in a terminal named `name` (shown again if it already runs; returns false then).
   * The executable is run directly (no shell), so paths with spaces need no quoting.
   */
  avmdTerminal(name: string, cwd: string, args: string[]): boolean {
    const existing = vscode.window.terminals.find((t) => t.name === name);
    if (existing) {
      existing.show();
      return false;
    }
    const term = vscode.window.createTerminal({
      name,
      cwd,
      env: this.config.profile ? { AVMD_PROFILE: this.config.profile } : undefined,
      shellPath: this.binary(),
      shellArgs: args,
    });
    this.extension.subscriptions.push(term);
    term.show();
    return true;
  }

  /** Shows an error with a way to fix it, and logs it. */
  async showError(message: string): Promise<void> {
    this.output.appendLine(message);
    const pick = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Log');
    if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'avmd.');
    if (pick === 'Show Log') this.output.show();
  }

  private onConfigChange(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration('avmd')) return;
    const before = this.config;
    this.config = readConfig();
    if (before.dashboardPort !== this.config.dashboardPort) this.watchDashboard();
    if (before.path !== this.config.path || before.profile !== this.config.profile) {
      this.restart().catch((err: Error) => void this.showError(err.message));
    }
  }

  // ---- the build status item: /api/status once, then /api/events; reconnects with backoff ----

  /** (Re)connects the status item to the dashboard now, e.g. after Start Dev. */
  watchDashboard(): void {
    this.unwatch();
    this.retryMs = 1000;
    this.connect(++this.generation);
  }

  private unwatch(): void {
    this.sub?.close();
    this.sub = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private show(status: DevStatus | null, reason?: string): void {
    this.lastStatus = status;
    tone(this.statusItem, statusView(status, reason));
  }

  private connect(gen: number): void {
    if (this.disposed || gen !== this.generation) return;
    const dash = this.dashboard;
    const refresh = (): void => {
      dash.status().then(
        (s) => gen === this.generation && this.show(s),
        (e: Error) => this.output.appendLine(`dashboard status: ${e.message}`),
      );
    };
    dash.status().then(
      (s) => {
        if (this.disposed || gen !== this.generation) return;
        this.retryMs = 1000;
        this.show(s);
        this.sub = dash.subscribe(
          // Events carry a phase or a build; re-reading the status keeps one code path for both.
          (ev) => {
            if (ev.event === 'build' || ev.event === 'status' || ev.event === 'lagged') refresh();
          },
          (err) => {
            if (err) this.retry(gen, err);
          },
        );
      },
      (e: Error) => this.retry(gen, e),
    );
  }

  private retry(gen: number, err: Error): void {
    if (this.disposed || gen !== this.generation) return;
    this.sub = undefined;
    this.show(null, err.message);
    this.retryTimer = setTimeout(() => this.connect(gen), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  dispose(): void {
    this.disposed = true;
    this.unwatch();
    void this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
