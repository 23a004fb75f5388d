/**
 * Entry point: builds the `Ctx`, registers the commands and starts the language client. A failure
 * to start (no `avmd`, a server that exits) is shown here, with the fix, instead of failing
 * activation: the commands that need only the dev daemon keep working.
 */
import * as vscode from 'vscode';

import { registerCommands } from './commands';
import { Ctx } from './ctx';

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = new Ctx(context);
  registerCommands(ctx);
  try {
    await ctx.start();
  } catch (e) {
    void ctx.showError(`avmd: the language server did not start. ${(e as Error).message}`);
  }
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}
