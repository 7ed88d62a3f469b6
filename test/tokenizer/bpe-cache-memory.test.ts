// The BPE segment cache keeps only its segments, not the prompts they were cut from: V8 makes a
// slice of 13 characters or more a view of its parent string, and keys made that way kept every
// prompt alive (the engine's heap grew under the typing load test). Measured in a child process
// with --expose-gc: 400 prompts of about 8,000 characters would keep over 6 MB.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";

const ROOT = process.cwd();
const MODEL = join(ROOT, "models", "tiny-codemonet", "tokenizer.model");
const CHILD = join(ROOT, "test", "tokenizer", "bpe-cache-retention.ts");

describe("BPE segment cache memory", () => {
  it("does not keep the prompts its segments were sliced from", () => {
    const grew = Number(
      execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", CHILD, MODEL, "400"], {
        encoding: "utf8",
      }).trim(),
    );
    // 400 cache entries of a short word each: tens of kB; the prompts themselves would be > 6 MB.
    assert.ok(grew < 1.5e6, `the heap grew ${(grew / 1e6).toFixed(2)} MB over 400 prompts`);
  });
});
