/**
 * Routes → QuickPick items (pure; no `vscode` import). The language server's `avmd/routes` is the
 * source of truth; when it is not running, the `avmd dev` dashboard's `/api/routes` scan is turned
 * into the same shape so Show Routes still works.
 */
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { DashboardRoutes } from './dashboard';
import type { RouteInfo } from './lsp_ext';

/** What a QuickPick shows for one route, plus the route to open when it is picked. */
export interface RouteItem {
  label: string;
  description: string;
  detail: string;
  route: RouteInfo;
}

/** `GET, PUT` or `any method` (a route without `methods` answers every method). */
export function methodsText(methods: string[] | undefined): string {
  return methods && methods.length > 0 ? methods.join(', ') : 'any method';
}

/** `httpd_api_handler → items_api` for generic handlers, else the handler module. */
export function handlerText(route: RouteInfo): string {
  return route.target ? `${route.handler} → ${route.target}` : route.handler;
}

/**
 * One item per route, ordered by path (then by method list) so the list reads like a route table;
 * `relative` turns a route's URI into the text shown (e.g. workspace-relative `src/x.erl`).
 */
export function routeItems(routes: RouteInfo[], relative: (uri: string) => string): RouteItem[] {
  return [...routes]
    .sort((a, b) => a.path.localeCompare(b.path) || methodsText(a.methods).localeCompare(methodsText(b.methods)))
    .map((route) => ({
      label: route.path,
      description: methodsText(route.methods),
      // LSP lines are 0-based; people count from 1.
      detail: `${handlerText(route)} — ${relative(route.uri)}:${route.range.start.line + 1}`,
      route,
    }));
}

/**
 * The dashboard's route scan as `RouteInfo`s: the location is the route tuple's line in the scanned
 * file (relative to the project `root`), as the language server reports it.
 */
export function routesFromDashboard(reply: DashboardRoutes, root: string): RouteInfo[] {
  if (reply.file === null) return [];
  const uri = pathToFileURL(path.resolve(root, reply.file)).toString();
  return reply.routes.map((r) => {
    const line = Math.max(0, r.line - 1);
    return {
      path: r.path,
      handler: r.handler,
      ...(r.target !== null ? { target: r.target } : {}),
      ...(r.methods.length > 0 ? { methods: r.methods } : {}),
      uri,
      range: { start: { line, character: 0 }, end: { line, character: 0 } },
    };
  });
}

/** A `file://` URI shown relative to the first of `roots` that contains it, else as a path. */
export function relativeTo(roots: string[], uri: string): string {
  let file: string;
  try {
    file = fileURLToPath(uri);
  } catch {
    return uri; // not a file: URI (or not a URI): show it as it is
  }
  for (const root of roots) {
    const rel = path.relative(root, file);
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return file;
}
