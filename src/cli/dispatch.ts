// From the arguments to a command: the usage, `<command> --help`, the command's run, and
// errors on stderr with exit code 1 as one clear message, never a stack trace (set
// MONET_LENS_DEBUG=1 for one).
import { UsageError } from "./args";
import { RelaunchedError } from "./relaunch";
import { type CommandSpec, commandHelp, HELP_FLAGS, parseCommandLine, usage, usageLine } from "./command";
import { COMMANDS, USAGE_FOOTER } from "./commands";

const isHelp = (arg: string | undefined) => (HELP_FLAGS as readonly string[]).includes(arg ?? "");

/** The command `argv` names ("atlas build" takes two words) and the arguments after it. */
function findCommand(
  argv: string[],
): { spec: CommandSpec; rest: string[] } | { error: string } | { help: string } {
  const [first, second] = argv;
  const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
  if (group.length === 0) {
    const spec = COMMANDS.find((c) => c.name === first);
    return spec ? { spec, rest: argv.slice(1) } : { error: `unknown command "${first}"` };
  }
  const spec = group.find((c) => c.name === `${first} ${second}`);
  if (spec) return { spec, rest: argv.slice(2) };
  if (isHelp(second)) return { help: group.map((c) => commandHelp(c)).join("\n\n") };
  const names = group.map((c) => c.name.slice(first!.length + 1)).join(" or ");
  return {
    error: second ? `unknown ${first} command "${second}" (${names})` : `${first} needs a command: ${names}`,
  };
}

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const full = usage(COMMANDS, USAGE_FOOTER);
  const [name] = argv;
  if (!name || isHelp(name) || name === "help") {
    console.log(full);
    return name ? 0 : 1;
  }
  const found = findCommand(argv);
  if ("help" in found) {
    console.log(found.help);
    return 0;
  }
  if ("error" in found) {
    process.stderr.write(`monet-lens: ${found.error}\n\n${full}\n`);
    return 1;
  }
  const { spec, rest } = found;
  if (rest.some(isHelp)) {
    console.log(commandHelp(spec));
    return 0;
  }
  try {
    const { values, positional, positionals } = parseCommandLine(spec, rest);
    await spec.run(values, positional, positionals);
    return 0;
  } catch (e) {
    // The command ran again, with huge pages, and said what it had to (engine-options.ts).
    if (e instanceof RelaunchedError) return e.code;
    if (process.env.MONET_LENS_DEBUG) console.error(e);
    const msg = e instanceof Error ? e.message : String(e);
    const hint =
      e instanceof UsageError
        ? `\n\nusage: ${usageLine(spec)}\n(monet-lens ${spec.name} --help: what each option does)`
        : "";
    process.stderr.write(`monet-lens ${spec.name}: ${msg}${hint}\n`);
    return 1;
  }
}
