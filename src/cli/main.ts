// monet-lens: the command-line face of the engine (dist/cli.js). The commands are declared
// in commands.ts; dispatch.ts runs them.
import { runCli } from "./dispatch";

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
