// The command line from source (`monet-lens ARGS` through tsx), with the tests' conversion cache.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { TEST_CACHE } from "./fixtures";

export const CLI_MAIN = join(process.cwd(), "src", "cli", "main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI_MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
