// Every command of the extension from one table, registered under one prefix (the pattern
// of rust-analyzer's editors/code): the context's commands (src/app/commands.ts) and the two
// that need VS Code itself. A failure is logged with its stack and shown as an error.
import * as vscode from "vscode";
import { type CommandName, commandId } from "../app/command-ids";
import { APP_COMMANDS, type AppCommand } from "../app/commands";
import type { Ctx } from "../app/ctx";

/** A command's function; the arguments come from whoever invoked it (links, buttons) and are validated by it. */
export type CommandTable = Record<CommandName, (...args: unknown[]) => Promise<unknown>>;

/** The table: every name of COMMAND_NAMES (the type checks it) with what it runs. */
export function commandTable(
  ctx: Ctx,
  editor: { showLog(): void; inspectSelection(): Promise<void> },
): CommandTable {
  const app = Object.fromEntries(
    Object.entries(APP_COMMANDS).map(([name, run]) => [
      name,
      (...args: unknown[]) => (run as AppCommand)(ctx, ...args),
    ]),
  ) as Record<keyof typeof APP_COMMANDS, (...args: unknown[]) => Promise<unknown>>;
  return {
    ...app,
    showLog: async () => editor.showLog(),
    inspectSelection: () => editor.inspectSelection(),
  };
}

export function registerCommands(table: CommandTable, ctx: Ctx): vscode.Disposable[] {
  return Object.entries(table).map(([name, run]) => {
    const id = commandId(name as CommandName);
    return vscode.commands.registerCommand(id, (...args: unknown[]) =>
      run(...args).catch((e: unknown) => {
        ctx.log.error(`${id} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        void vscode.window.showErrorMessage(`Monet Lens: ${e instanceof Error ? e.message : String(e)}`);
      }),
    );
  });
}
