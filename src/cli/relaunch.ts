// Huge pages for the command line (src/engine/huge-pages.ts): glibc reads its tunables when a
// process starts, and the command line runs the engine in its own process, so a command that
// wants them and was started without the tunable starts itself again with it and passes on
// the exit status. The extension has no such step: it starts the engine process with it.
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { withHugePages } from "../engine/huge-pages";

/** Thrown out of a command whose work a relaunched copy of the command line did: exit with `code`. */
export class RelaunchedError extends Error {
  constructor(readonly code: number) {
    super(`the command ran again with huge pages and exited with ${code}`);
  }
}

/**
 * Runs this command line again, the same arguments and environment plus the tunable, with
 * this terminal; resolves with its exit status (128 + the signal's number when a signal ended it).
 */
export async function relaunchWithHugePages(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: withHugePages(process.env),
  });
  // Ctrl-C reaches both processes (one process group): the copy cancels, this one waits for it.
  // A termination sent to this process alone is passed on.
  const ignore = () => {};
  const pass = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", ignore);
  process.on("SIGTERM", pass);
  process.on("SIGHUP", pass);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code, signal) =>
        resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      );
    });
  } finally {
    process.off("SIGINT", ignore);
    process.off("SIGTERM", pass);
    process.off("SIGHUP", pass);
  }
}
