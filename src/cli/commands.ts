// Every monet-lens command, in the order the usage lists them.
import { atlasBuildCommand, atlasEvalCommand } from "./atlas";
import { benchCommand } from "./bench";
import type { CommandSpec } from "./command";
import { generateCommand } from "./generate";
import { infoCommand } from "./info";
import { pullCommand } from "./pull";
import { routeCommand } from "./route";
import { synthCommand } from "./synth";
import { tokenizeCommand } from "./tokenize";

export const COMMANDS: readonly CommandSpec[] = [
  infoCommand,
  tokenizeCommand,
  generateCommand,
  benchCommand,
  routeCommand,
  atlasBuildCommand,
  atlasEvalCommand,
  pullCommand,
  synthCommand,
];

export const USAGE_FOOTER = [
  "--model defaults to the embedded demo model (models/tiny-codemonet); --atlas defaults to",
  "the atlas shipped for the model being run (models/atlases/). --mask python,lua masks",
  "those languages' experts in every routing group.",
].join("\n");
