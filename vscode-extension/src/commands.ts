/**
 * The four commands: Show Routes (QuickPick → the handler's location), Start Dev Loop (a terminal
 * running `avmd dev`), Open Dashboard, Restart Language Server. The item mapping they show is the
 * pure `route_items` module; the state lives in `Ctx`.
 */
import * as vscode from 'vscode';

import { projectDirs } from './bootstrap';
import { Ctx, workspaceFolderPaths } from './ctx';
import { ROUTES_METHOD, RouteInfo, parseRoutes } from './lsp_ext';
import { relativeTo, routeItems, routesFromDashboard } from './route_items';

export function registerCommands(ctx: Ctx): void {
  const reg = (id: string, f: () => Promise<void>): void => {
    ctx.extension.subscriptions.push(
      vscode.commands.registerCommand(id, () => f().catch((e: Error) => ctx.showError(`avmd: ${e.message}`))),
    );
  };
  reg('avmd.showRoutes', () => showRoutes(ctx));
  reg('avmd.startDev', () => startDev(ctx));
  reg('avmd.openDashboard', () => openDashboard(ctx));
  reg('avmd.restartServer', async () => {
    await ctx.restart();
    void vscode.window.showInformationMessage(`avmd: language server restarted (avmd ${ctx.server?.version}).`);
  });
}

/**
 * Routes from the language server: every project it knows, else the project of the active file
 * (which makes the server discover it). When the server is not running or knows none, the dev
 * dashboard's scan.
 */
async function fetchRoutes(ctx: Ctx): Promise<RouteInfo[]> {
  const client = ctx.client;
  if (client?.isRunning()) {
    const all = parseRoutes(await client.sendRequest(ROUTES_METHOD, {}));
    if (all.length > 0) return all;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.scheme === 'file') {
      const mine = parseRoutes(await client.sendRequest(ROUTES_METHOD, { uri: active.toString() }));
      if (mine.length > 0) return mine;
    }
  }
  const dash = ctx.dashboard;
  try {
    const [status, routes] = await Promise.all([dash.status(), dash.routes()]);
    return routesFromDashboard(routes, status.project.root);
  } catch (e) {
    // Without a server, the dashboard is the only source: say why it failed.
    if (!client?.isRunning()) throw e;
    return [];
  }
}

async function showRoutes(ctx: Ctx): Promise<void> {
  const routes = await fetchRoutes(ctx);
  if (routes.length === 0) {
    void vscode.window.showInformationMessage(
      'avmd: no routes found. The route map is read from route tuples {<<"/path">>, Handler, Opts} in the start module.',
    );
    return;
  }
  const items = routeItems(routes, (uri) => relativeTo(workspaceFolderPaths(), uri));
  const pick = await vscode.window.showQuickPick(items, {
    title: `avmd routes (${routes.length})`,
    placeHolder: 'Open the handler of a route',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!pick) return;
  const { start, end } = pick.route.range;
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(pick.route.uri));
  await vscode.window.showTextDocument(doc, {
    selection: new vscode.Range(start.line, start.character, end.line, end.character),
  });
}

/** The project folder to run `avmd dev` in: the only one, or the one the user picks. */
async function pickProject(): Promise<string | undefined> {
  const dirs = await projectDirs(workspaceFolderPaths());
  if (dirs.length === 0) {
    throw new Error('no workspace folder holds an avmd.toml, rebar.config or mix.exs; open a project folder first.');
  }
  if (dirs.length === 1) return dirs[0];
  return vscode.window.showQuickPick(dirs, { placeHolder: 'Which project should avmd dev run?' });
}

async function startDev(ctx: Ctx): Promise<void> {
  if (!ctx.server) {
    throw new Error('avmd was not found; set avmd.path or install avmd, then run "avmd: Restart Language Server".');
  }
  const dir = await pickProject();
  if (!dir) return;
  const existing = vscode.window.terminals.find((t) => t.name === 'avmd dev');
  if (existing) {
    existing.show();
    return;
  }
  // The executable is run directly (no shell), so paths with spaces need no quoting. The dashboard
  // port is passed so the status item and Open Dashboard know where to look.
  const term = vscode.window.createTerminal({
    name: 'avmd dev',
    cwd: dir,
    shellPath: ctx.server.path,
    shellArgs: ['dev', dir, '--dashboard-port', String(ctx.config.dashboardPort)],
  });
  ctx.extension.subscriptions.push(term);
  term.show();
  ctx.watchDashboard();
}

async function openDashboard(ctx: Ctx): Promise<void> {
  const dash = ctx.dashboard;
  try {
    await dash.status();
  } catch (e) {
    const pick = await vscode.window.showWarningMessage(`avmd: ${(e as Error).message}`, 'Start Dev Loop');
    if (pick === 'Start Dev Loop') await vscode.commands.executeCommand('avmd.startDev');
    return;
  }
  await vscode.env.openExternal(vscode.Uri.parse(`${dash.base}/`));
}
