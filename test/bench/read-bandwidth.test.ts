// scripts/read-bandwidth.c, the memory read rate that docs/quantization.md ("What bounds the
// ratio") sets decoding rates against: it builds with the system's C compiler, prints one rate a
// pass, and refuses bad arguments with its usage line.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("scripts/read-bandwidth.c", () => {
  let dir = "";
  let exe = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "read-bandwidth-"));
    exe = join(dir, "read-bandwidth");
    const cc = spawnSync(
      "cc",
      ["-O3", "-Wall", "-Wextra", "-Werror", "-pthread", "scripts/read-bandwidth.c", "-o", exe],
      {
        encoding: "utf8",
      },
    );
    assert.equal(cc.status, 0, `cc failed: ${cc.error ?? ""}${cc.stderr}`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints seven positive rates for the buffer and threads asked for", () => {
    const r = spawnSync(exe, ["16", "2"], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 7, r.stdout);
    for (const line of lines) {
      const m = /^16 MiB, 2 threads: (\d+\.\d) GB\/s$/.exec(line);
      assert.ok(m, `unexpected line: ${line}`);
      assert.ok(Number(m[1]) > 0, line);
    }
  });

  it("refuses bad arguments with its usage line and status 2", () => {
    for (const args of [[], ["0", "2"], ["16", "0"], ["16", "65"], ["x", "2"]]) {
      const r = spawnSync(exe, args, { encoding: "utf8" });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /usage: .* MIB THREADS/);
    }
  });
});
