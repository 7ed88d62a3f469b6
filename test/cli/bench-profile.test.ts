// `monet-lens bench --profile PREFIX`: onnxruntime's profile of the benchmark's runs, written
// when the engine closes, and scripts/profile-summary.mjs's table of where a run's time goes.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli";

describe("bench --profile", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "monet-profile-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes a trace of every run, and the summary splits a decoding step by operator", () => {
    const args = [
      "bench",
      "--ep",
      "cpu",
      "--prefill",
      "16",
      "--contexts",
      "8",
      "--new-tokens",
      "3",
      "--json",
    ];
    const r = runCli(...args, "--profile", join(dir, "run"));
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { decode_tokens_per_s: number; peak_memory_mib?: number };
    assert.ok(result.decode_tokens_per_s > 0);
    if (process.platform === "linux") {
      // The demo model's session and runs (377 MiB measured): more than Node alone, far less than 1 GiB.
      const peak = result.peak_memory_mib ?? 0;
      assert.ok(peak > 100 && peak < 1024, `peak memory since the model loaded: ${peak} MiB`);
    }
    const traces = readdirSync(dir).filter((n) => n.startsWith("run_") && n.endsWith(".json"));
    assert.equal(traces.length, 1, `one trace: ${readdirSync(dir)}`);
    const trace = join(dir, traces[0]!);
    const events = JSON.parse(readFileSync(trace, "utf8")) as Array<{ cat?: string; name: string }>;
    // Warm-up and 3 rounds, each a 16-token prefill, an 8-token prompt and 2 decoding steps.
    const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run");
    assert.equal(runs.length, 4 * 4, "every forward pass is in the trace");

    const summary = spawnSync(process.execPath, ["scripts/profile-summary.mjs", trace, "--top", "60"], {
      encoding: "utf8",
    });
    assert.equal(summary.status, 0, summary.stderr);
    assert.match(summary.stdout, /decode runs of 15/);
    assert.match(
      summary.stdout,
      /^\| RotaryEmbedding \| [\d.]+ \| 16 \|/m,
      "two RoPE nodes per layer (8 layers; queries and keys)",
    );
    const shares = [...summary.stdout.matchAll(/\| ([\d.]+) % \|$/gm)].map((m) => Number(m[1]));
    assert.ok(shares.length > 3 && shares.reduce((a, b) => a + b, 0) <= 100.5, `own times: ${shares}`);
  });
});
