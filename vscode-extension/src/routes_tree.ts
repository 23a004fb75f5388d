/**
 * Routes → the Routes view's rows (pure; no `vscode` import): one row per route in route-table order,
 * `GET /api/hello` with the handler beside it; clicking opens the handler module when it is the
 * project's, else the route tuple.
 */
import type { RouteInfo } from './lsp_ext';
import { handlerText, methodsText } from './route_items';

export interface RouteRow {
  label: string;
  description: string;
  tooltip: string;
  route: RouteInfo;
}

export function routeRows(routes: RouteInfo[]): RouteRow[] {
  return routes.map((route) => {
    const methods = route.methods && route.methods.length > 0 ? route.methods.join('|') : '*';
    return {
      label: `${methods} ${route.path}`,
      description: `→ ${route.target ?? route.handler}`,
      tooltip: `${methodsText(route.methods)} ${route.path}\n${handlerText(route)}\n(route at line ${route.range.start.line + 1})`,
      route,
    };
  });
}

/** The module whose code runs for a route: the `handler => Mod` of a generic handler, else the handler. */
export function handlerModule(route: RouteInfo): string {
  return route.target ?? route.handler;
}
