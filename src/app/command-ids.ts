// The extension's commands by name: `monetLens.<name>` in package.json and in VS Code. One
// list, so the table in src/extension/commands.ts must give every one of them a function.
export const COMMAND_PREFIX = "monetLens";

export const COMMAND_NAMES = [
  "triggerCompletion",
  "maskLanguages",
  "clearMasks",
  "steerLanguages",
  "selectModelFolder",
  "downloadModel",
  "buildAtlas",
  "selectAtlas",
  "toggleLanguage",
  "toggleEnabled",
  "restartEngine",
  "unloadModel",
  "showLog",
  "showMenu",
  "inspectSelection",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

export function commandId(name: CommandName): `${typeof COMMAND_PREFIX}.${CommandName}` {
  return `${COMMAND_PREFIX}.${name}`;
}
