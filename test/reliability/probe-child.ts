// Runs probes of hostile files in a child process, one after the other, and prints one JSON
// line when each starts and one when it ends, so that the parent (hostile-files.test.ts) can
// kill a probe that hangs and say which one it was. A probe is a CLI command (run in this
// process, its output dropped) or one of the readers the extension uses.
import { type CommandSpec, parseOptions } from "../../src/cli/command";
import { COMMANDS } from "../../src/cli/commands";
import { loadConfigAsync } from "../../src/checkpoint/config";
import { readAtlasFileAsync } from "../../src/atlas/atlas-file";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { validateModelFolder } from "../../src/app/commands";

export interface Probe {
  id: string;
  run: "cli" | "validate" | "configAsync" | "tokenizerAsync" | "atlasAsync";
  args: string[];
}

export interface ProbeResult {
  id: string;
  ok: boolean;
  error?: string;
  errorName?: string;
  ms: number;
}

/** Runs a CLI command in this process; its errors are thrown, not printed. */
function runCommand(argv: string[]): Promise<void> {
  const two = COMMANDS.find((c) => c.name === `${argv[0]} ${argv[1]}`);
  const spec: CommandSpec | undefined = two ?? COMMANDS.find((c) => c.name === argv[0]);
  if (!spec) throw new Error(`no command ${argv.join(" ")}`);
  const rest = argv.slice(spec.name.split(" ").length);
  return spec.run(parseOptions(spec, rest));
}

async function runProbe(p: Probe): Promise<void> {
  const [first = ""] = p.args;
  switch (p.run) {
    case "cli":
      return runCommand(p.args);
    case "validate":
      await validateModelFolder(first);
      return;
    case "configAsync":
      await loadConfigAsync(first);
      return;
    case "tokenizerAsync":
      await SentencePieceTokenizer.fromFileAsync(first);
      return;
    case "atlasAsync":
      await readAtlasFileAsync(first);
      return;
  }
}

async function main(): Promise<void> {
  const probes = JSON.parse(process.argv[2]!) as Probe[];
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const log = console.log;
  for (const p of probes) {
    say({ started: p.id });
    const t0 = performance.now();
    console.log = () => undefined;
    try {
      await runProbe(p);
      say({ id: p.id, ok: true, ms: performance.now() - t0 } satisfies ProbeResult);
    } catch (e) {
      const err = e as Error;
      say({ id: p.id, ok: false, error: err.message, errorName: err.name, ms: performance.now() - t0 });
    } finally {
      console.log = log;
    }
  }
}

void main();
