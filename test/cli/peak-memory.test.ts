// bench's peak memory (src/cli/peak-memory.ts): VmHWM, reset once the model is loaded so that a
// conversion before it does not count. Checked in a child process that raises its own peak with a
// 256 MiB buffer, frees it, and resets.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { vmHwmMiB } from "../../src/cli/peak-memory";

const MODULE = resolve("src/cli/peak-memory.ts");

describe("peak memory", () => {
  it("reads VmHWM from /proc/PID/status", () => {
    assert.equal(vmHwmMiB("Name:\tnode\nVmPeak:\t 1 kB\nVmHWM:\t  409600 kB\nVmRSS:\t 1 kB\n"), 400);
    assert.equal(vmHwmMiB("Name:\tnode\n"), undefined);
  });

  it("reset: the peak falls back to what is resident, so earlier work does not count", {
    skip: process.platform !== "linux" && "Linux only",
  }, () => {
    const script = `
      const m = await import(${JSON.stringify(MODULE)});
      const { ownPeakMemoryMiB, resetPeakMemory } = m.ownPeakMemoryMiB ? m : m.default; // tsx: CommonJS interop
      let big = Buffer.alloc(256 * 2 ** 20, 1);
      const during = ownPeakMemoryMiB();
      big = undefined;
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 50));
      const reset = resetPeakMemory();
      console.log(JSON.stringify({ during, reset, after: ownPeakMemoryMiB() }));`;
    const r = spawnSync(
      process.execPath,
      ["--expose-gc", "--import", "tsx", "--input-type=module", "-e", script],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const { during, reset, after } = JSON.parse(r.stdout) as {
      during: number;
      reset: boolean;
      after: number;
    };
    assert.equal(reset, true);
    assert.ok(during - after > 200, `peak ${during} MiB with the buffer, ${after} MiB after the reset`);
  });
});
