// The command line as a table: each command declares its options once (name, type, value
// name, help), and parsing, the usage text and `monet-lens <command> --help` all come from
// those declarations.
import { parseArgs } from "node:util";
import { UsageError } from "./args";

export interface OptionSpec {
  type: "string" | "boolean";
  /** The value's name in usage lines (DIR, N, LANG,...); string options only. */
  value?: string;
  help: string;
  /** Usage shows it without brackets, and leaving it out is a usage error. */
  required?: boolean;
  /** May be given several times; the value is then the list (string options only). */
  multiple?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** The parsed values of a command's options (absent when not given). */
export type OptionValues<O extends OptionSpecs> = {
  [K in keyof O]?: O[K]["type"] extends "boolean"
    ? boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

export interface CommandSpec<O extends OptionSpecs = OptionSpecs> {
  /** "generate", or "atlas build" for a subcommand. */
  name: string;
  summary: string;
  options: O;
  /** Said after the options in --help (which options go together, defaults worth knowing). */
  notes?: string;
  /**
   * Words after the command: one optional word by default (`pull [REPO]`), or exactly `count`
   * words (`atlas compare A B`). `run` gets the first as its second argument and all of them
   * as its third.
   */
  positional?: { name: string; help: string; count?: number };
  run(values: OptionValues<O>, positional?: string, positionals?: string[]): Promise<void>;
}

/** Declares a command (keeps its option names in the types of `run`'s values). */
export function command<O extends OptionSpecs>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

export const HELP_FLAGS = ["--help", "-h"] as const;

/**
 * Parses `argv` against the command's declarations: unknown options and missing required ones are usage
 * errors.
 */
export function parseOptions<O extends OptionSpecs>(spec: CommandSpec<O>, argv: string[]): OptionValues<O> {
  return parseCommandLine(spec, argv).values;
}

/** parseOptions, with the command's one positional word when it declares one. */
export function parseCommandLine<O extends OptionSpecs>(
  spec: CommandSpec<O>,
  argv: string[],
): { values: OptionValues<O>; positional?: string; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(spec.options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: spec.positional !== undefined,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const count = spec.positional?.count;
  if (count !== undefined && parsed.positionals.length !== count)
    throw new UsageError(
      `${spec.name} needs ${spec.positional!.name}` +
        (parsed.positionals.length ? `, got ${parsed.positionals.join(" ")}` : ""),
    );
  if (count === undefined && parsed.positionals.length > 1)
    throw new UsageError(
      `${spec.name} takes one ${spec.positional!.name}, got ${parsed.positionals.join(" ")}`,
    );
  const values = parsed.values as OptionValues<O>;
  for (const [name, o] of Object.entries(spec.options))
    if (o.required && values[name] === undefined)
      throw new UsageError(`${spec.name} needs ${optionSynopsis(name, o)}`);
  return { values, positional: parsed.positionals[0], positionals: parsed.positionals };
}

function optionSynopsis(name: string, o: OptionSpec): string {
  return o.type === "boolean" ? `--${name}` : `--${name} ${o.value ?? "VALUE"}`;
}

/** `monet-lens generate --prompt STR [--max-tokens N] …`, wrapped at `width` with an indent. */
export function usageLine(spec: CommandSpec, width = 100): string {
  const words = Object.entries(spec.options).map(([name, o]) =>
    o.required ? optionSynopsis(name, o) : `[${optionSynopsis(name, o)}]`,
  );
  if (spec.positional)
    words.unshift(spec.positional.count ? spec.positional.name : `[${spec.positional.name}]`);
  const lines: string[] = [];
  let line = `monet-lens ${spec.name}`;
  for (const w of words) {
    if (line.length + 1 + w.length > width) {
      lines.push(line);
      line = `   ${w}`;
    } else line += ` ${w}`;
  }
  lines.push(line);
  return lines.join("\n");
}

/** `monet-lens <command> --help`: usage, what it does, and every option with its help. */
export function commandHelp(spec: CommandSpec, width = 100): string {
  const rows = Object.entries(spec.options).map(([name, o]) => [optionSynopsis(name, o), o.help] as const);
  if (spec.positional) rows.unshift([spec.positional.name, spec.positional.help]);
  rows.push(["-h, --help", "this help"]);
  const col = Math.min(32, Math.max(...rows.map(([s]) => s.length)) + 4);
  const options = rows.map(([s, help]) => {
    const lines = wrap(help, width - col);
    const first =
      s.length + 4 > col ? [`  ${s}`, " ".repeat(col) + lines[0]] : [`  ${s.padEnd(col - 2)}${lines[0]}`];
    return [...first, ...lines.slice(1).map((l) => " ".repeat(col) + l)].join("\n");
  });
  return [
    `usage: ${usageLine(spec)}`,
    "",
    spec.summary,
    "",
    "options:",
    ...options,
    ...(spec.notes ? ["", ...wrap(spec.notes, width)] : []),
  ].join("\n");
}

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** The whole tool's usage: every command's usage line and what it does. */
export function usage(commands: readonly CommandSpec[], footer: string): string {
  const blocks = commands.map((c) => `${usageLine(c)}\n      ${c.summary}`);
  return [
    "usage: monet-lens <command> [options]   (monet-lens <command> --help: its options)",
    "",
    ...blocks,
    "",
    footer,
  ].join("\n");
}
