/**
 * The device half: the Devices view's refresh, Select Device, Push (one device, or all outdated)
 * with a cancellable progress notification fed by `avmd push --json`'s progress lines, Device Info,
 * Device Console (a simulated device's log) and Start Simulated Devices (`avmd sim`). What the
 * commands print and parse is in `devices_model`; running `avmd` is `avmd_cli`.
 */
import * as vscode from 'vscode';

import { jsonOf, runAvmd } from './avmd_cli';
import { Ctx, avmdEnv } from './ctx';
import { Device, parseDevices, parseProgressLine, parsePushReport, pushSummary } from './devices_model';
import type { DeviceNode } from './views';

type Reg = (id: string, f: (...args: unknown[]) => Promise<void>) => void;

/** The device a command is about: the clicked row, the selected device, or one the user picks. */
async function deviceArg(ctx: Ctx, arg: unknown, project: string): Promise<string | undefined> {
  const node = arg as DeviceNode | undefined;
  if (node?.device?.name) return node.device.name;
  if (ctx.selectedDevice) return ctx.selectedDevice;
  const devices = ctx.devicesView.devices.length > 0 ? ctx.devicesView.devices : await refreshDevices(ctx, project);
  if (devices.length === 0) {
    throw new Error('no devices: start simulated ones (avmd: Start Simulated Devices) or `avmd devices add NAME HOST:PORT`.');
  }
  const pick = await vscode.window.showQuickPick(
    devices.map((d) => ({ label: d.name, description: `${d.address} ${d.online ? '' : '(offline)'}` })),
    { placeHolder: 'Which device?' },
  );
  return pick?.label;
}

export async function refreshDevices(ctx: Ctx, project: string): Promise<Device[]> {
  const args = ['devices', '--json', '--project', project];
  const r = await runAvmd(ctx.binary(), args, { cwd: project, env: avmdEnv(ctx.config), timeoutMs: 60_000 });
  const devices = parseDevices(jsonOf(args, r));
  ctx.devicesView.set(devices);
  return devices;
}

/** `avmd push TARGETS --json` with a progress notification; the report when it ends. */
async function push(ctx: Ctx, project: string, targets: string[], what: string): Promise<void> {
  const args = ['push', ...targets, '--json', '--project', project];
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `avmd: pushing to ${what}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      const sent = new Map<string, number>();
      let shown = 0;
      const r = await runAvmd(ctx.binary(), args, {
        cwd: project,
        env: avmdEnv(ctx.config),
        signal: abort.signal,
        onStderrLine: (line) => {
          const p = parseProgressLine(line);
          if (!p) {
            if (line.trim()) ctx.output.appendLine(`push: ${line}`);
            return;
          }
          sent.set(p.device, p.sent);
          const total = p.total * Math.max(targets.length, sent.size);
          const done = [...sent.values()].reduce((a, b) => a + b, 0);
          const pct = Math.min(100, (100 * done) / total);
          progress.report({ message: `${p.device}: ${p.sent} / ${p.total} bytes`, increment: pct - shown });
          shown = pct;
        },
      });
      if (token.isCancellationRequested) return null;
      return parsePushReport(jsonOf(args, r));
    },
  );
  if (!report) {
    void vscode.window.showWarningMessage('avmd: push cancelled; a device that had the whole image keeps it, the others keep their app.');
  } else {
    for (const o of report.outcomes) ctx.devicesView.lastPush.set(o.device, o);
    const ok = report.outcomes.every((o) => o.result === 'updated' || o.result === 'up_to_date');
    const text = `avmd: ${pushSummary(report)}`;
    if (ok) void vscode.window.showInformationMessage(text);
    else void vscode.window.showErrorMessage(text);
  }
  await refreshDevices(ctx, project).catch((e: Error) => ctx.output.appendLine(`devices: ${e.message}`));
}

export function registerDeviceCommands(ctx: Ctx, reg: Reg, project: () => Promise<string | undefined>): void {
  reg('avmd.refreshDevices', async () => {
    const dir = await project();
    if (dir) await refreshDevices(ctx, dir);
  });
  reg('avmd.selectDevice', async (arg) => {
    const dir = await project();
    if (!dir) return;
    const node = arg as DeviceNode | undefined;
    let name = node?.device?.name;
    if (!name) {
      const devices = await refreshDevices(ctx, dir);
      const pick = await vscode.window.showQuickPick(
        [{ label: '(none: ask each time)', name: undefined as string | undefined }, ...devices.map((d) => ({ label: d.name, description: d.address, name: d.name as string | undefined }))],
        { placeHolder: 'Push to which device by default?' },
      );
      if (!pick) return;
      name = pick.name;
    }
    await ctx.selectDevice(name);
  });
  reg('avmd.push', async (arg) => {
    const dir = await project();
    if (!dir) return;
    const name = await deviceArg(ctx, arg, dir);
    if (name) await push(ctx, dir, [name], name);
  });
  reg('avmd.pushOutdated', async () => {
    const dir = await project();
    if (dir) await push(ctx, dir, ['--outdated'], 'every outdated device');
  });
  reg('avmd.deviceInfo', async (arg) => {
    const dir = await project();
    if (!dir) return;
    const name = await deviceArg(ctx, arg, dir);
    if (!name) return;
    const args = ['devices', 'info', name];
    const r = await runAvmd(ctx.binary(), args, { cwd: dir, env: avmdEnv(ctx.config), timeoutMs: 30_000 });
    const info = jsonOf(args, r);
    const doc = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(info, null, 2) });
    await vscode.window.showTextDocument(doc, { preview: true });
  });
  reg('avmd.deviceConsole', async (arg) => {
    const dir = await project();
    if (!dir) return;
    const name = await deviceArg(ctx, arg, dir);
    if (!name) return;
    const device = ctx.devicesView.devices.find((d) => d.name === name) ?? (await refreshDevices(ctx, dir)).find((d) => d.name === name);
    if (!device?.consolePath) {
      void vscode.window.showInformationMessage(
        `avmd: ${name} is a real device: its console is its serial port (e.g. \`idf.py monitor\` or \`minicom -D /dev/ttyUSB0 -b 115200\`).`,
      );
      return;
    }
    const term = vscode.window.createTerminal({ name: `avmd console: ${name}`, shellPath: 'tail', shellArgs: ['-n', '200', '-F', device.consolePath] });
    ctx.extension.subscriptions.push(term);
    term.show();
  });
  reg('avmd.startSim', async () => {
    const dir = await project();
    if (!dir) return;
    if (!ctx.avmdTerminal('avmd sim', dir, ['sim', dir, '--count', '3', '--vm', ctx.config.vm])) return;
    // The devices register themselves as they boot: look again shortly.
    setTimeout(() => void refreshDevices(ctx, dir).catch(() => undefined), 4000);
  });
}
