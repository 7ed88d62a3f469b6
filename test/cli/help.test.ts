// The command table's promises, checked on the built bundle: every command answers --help
// and -h (exit 0) with its usage and every option it declares, and an unknown option is
// still a clear usage error (exit 1, the message, the command's usage, no stack trace).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/commands";

const CLI = join(process.cwd(), "dist", "cli.js");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("monet-lens <command> --help", () => {
  for (const spec of COMMANDS) {
    const words = spec.name.split(" ");
    it(`${spec.name}: --help and -h list its options; an unknown option is a usage error`, () => {
      for (const flag of ["--help", "-h"]) {
        const r = run(...words, flag);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^usage: monet-lens ${spec.name} `));
        for (const name of Object.keys(spec.options)) assert.ok(r.stdout.includes(`--${name}`), `--${name}`);
        assert.ok(r.stdout.includes(spec.summary));
      }
      const bad = run(...words, "--no-such-option");
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, new RegExp(`^monet-lens ${spec.name}: Unknown option '--no-such-option'`));
      assert.match(bad.stderr, new RegExp(`usage: monet-lens ${spec.name} `));
      assert.doesNotMatch(bad.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
    });
  }

  it("the whole usage lists every command and exits 0 with --help, 1 without arguments", () => {
    const help = run("--help");
    assert.equal(help.code, 0);
    for (const spec of COMMANDS) assert.ok(help.stdout.includes(`monet-lens ${spec.name} `), spec.name);
    assert.equal(run().code, 1);
    const group = run("atlas", "--help");
    assert.equal(group.code, 0);
    assert.match(group.stdout, /usage: monet-lens atlas build .*\n[\s\S]*usage: monet-lens atlas eval /);
  });

  it("the engine's options are declared once and every model-running command has all of them", () => {
    for (const name of ["generate", "bench", "route", "atlas build", "atlas eval"]) {
      const spec = COMMANDS.find((c) => c.name === name)!;
      for (const o of ["model", "ep", "dtype", "threads"]) assert.ok(o in spec.options, `${name} --${o}`);
    }
  });
});
