/**
 * The two tree views in the avmd side bar: Routes (from the language server's `avmd/routes`) and
 * Devices (from `avmd devices --json`). Each is a thin `vscode` shell over a pure model
 * (`routes_tree`, `devices_model`); the data comes in through `set`, so the views hold no I/O.
 */
import * as vscode from 'vscode';

import { Device, PushOutcome, deviceView } from './devices_model';
import type { RouteInfo } from './lsp_ext';
import { RouteRow, routeRows } from './routes_tree';

export class RoutesView implements vscode.TreeDataProvider<RouteRow> {
  private rows: RouteRow[] = [];
  private note: string | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  set(routes: RouteInfo[], note?: string): void {
    this.rows = routeRows(routes);
    this.note = note;
    this.changed.fire();
  }

  get count(): number {
    return this.rows.length;
  }

  getTreeItem(row: RouteRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = 'route';
    item.iconPath = new vscode.ThemeIcon(row.route.handler === 'httpd_ws_handler' ? 'plug' : 'globe');
    item.command = { command: 'avmd.openRouteHandler', title: 'Open handler', arguments: [row.route] };
    return item;
  }

  getChildren(row?: RouteRow): RouteRow[] {
    if (row) return [];
    return this.rows;
  }

  message(): string | undefined {
    return this.rows.length === 0 ? this.note : undefined;
  }
}

/** One row of the Devices view. */
export interface DeviceNode {
  device: Device;
  lastPush?: PushOutcome;
}

export class DevicesView implements vscode.TreeDataProvider<DeviceNode> {
  private nodes: DeviceNode[] = [];
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  /** The last push result per device, kept across refreshes. */
  readonly lastPush = new Map<string, PushOutcome>();
  selected: string | undefined;

  set(devices: Device[]): void {
    this.nodes = devices.map((device) => ({ device, lastPush: this.lastPush.get(device.name) }));
    this.changed.fire();
  }

  get devices(): Device[] {
    return this.nodes.map((n) => n.device);
  }

  getTreeItem(n: DeviceNode): vscode.TreeItem {
    const v = deviceView(n.device, n.lastPush);
    const item = new vscode.TreeItem(v.label, vscode.TreeItemCollapsibleState.None);
    item.description = (n.device.name === this.selected ? '★ ' : '') + v.description;
    item.tooltip = v.tooltip;
    item.contextValue = v.contextValue;
    item.iconPath = new vscode.ThemeIcon(v.icon);
    return item;
  }

  getChildren(n?: DeviceNode): DeviceNode[] {
    return n ? [] : this.nodes;
  }
}
