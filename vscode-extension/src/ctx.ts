/**
 * The extension's state: the settings, the language client (`avmd lsp` over stdio), the build
 * status-bar item fed by the dev dashboard, and everything that must be disposed. One `Ctx` per
 * activation; commands get it and never keep their own state.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, TransportKind } from 'vscode-languageclient/node';

import { FoundServer, findServer } from './bootstrap';
import { DashboardClient, DevStatus, Subscription, statusView } from './dashboard';

/** Longest wait between reconnect attempts to a dashboard that is not there. */
const MAX_RETRY_MS = 30_000;

export interface Config {
  path: string;
  dashboardPort: number;
}

export function readConfig(): Config {
  const c = vscode.workspace.getConfiguration('avmd');
  const port = c.get<number>('dashboardPort', 8081);
  return {
    path: c.get<string>('path', ''),
    dashboardPort: Number.isInteger(port) && port > 0 && port < 65536 ? port : 8081,
  };
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
    this.statusItem = vscode.window.createStatusBarItem('avmd.build', vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = 'avmd build';
    this.statusItem.command = 'avmd.openDashboard';
    this.disposables.push(
      this.output,
      this.statusItem,
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfigChange(e)),
    );
    extension.subscriptions.push(this);
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
      options: { cwd: workspaceFolderPaths()[0] },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'erlang' },
        { scheme: 'file', language: 'elixir' },
        { scheme: 'file', pattern: '**/avmd.toml' },
      ],
      outputChannel: this.output,
    };
    const client = new LanguageClient('avmd', 'avmd language server', serverOptions, clientOptions);
    this.client = client;
    await client.start();
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
    if (before.path !== this.config.path) {
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
    const v = statusView(status, reason);
    this.statusItem.text = v.text;
    this.statusItem.tooltip = v.tooltip;
    this.statusItem.backgroundColor =
      v.tone === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : v.tone === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
    this.statusItem.show();
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
