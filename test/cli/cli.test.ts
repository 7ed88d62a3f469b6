// The monet-lens command line, run from the built bundle (npm test builds it first) as a
// user would: outputs, exit codes, and one clear error line instead of a stack trace.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  cpSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEMO_MODEL, FIXTURES, TEST_CACHE } from "../helpers/fixtures";

const CLI = join(process.cwd(), "dist", "cli.js");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertCleanError(r: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(r.code, 1);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
}

describe("monet-lens CLI", () => {
  it("info --json describes the demo model", () => {
    const r = run("info", "--json");
    assert.equal(r.code, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.parameters, 40_933_760);
    assert.equal(info.routingGroups, 2);
    assert.equal(info.expertsPerGroup, 262_144);
    assert.equal(info.dtype, "BF16");
    assert.equal(info.tokenizerPieces, 8192);
    assert.equal(info.valid, true);
  });

  it("tokenize --json gives the ids sentencepiece gives (BOS included)", () => {
    const cases = JSON.parse(readFileSync(join(FIXTURES, "tokenizer-cases.json"), "utf8")).encode as Array<{
      text: string;
      ids: number[];
    }>;
    const c = cases.find((x) => x.text.length > 10)!;
    const r = run("tokenize", "--text", c.text, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { ids: c.ids });
  });

  it("generate --json: greedy ids as the reference, and the documented fields", () => {
    const greedy = JSON.parse(readFileSync(join(FIXTURES, "tiny-codemonet", "greedy.json"), "utf8")).python;
    const r = run("generate", "--prompt", greedy.prompt, "--max-tokens", "4", "--json");
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.ids, greedy.greedy_ids.slice(0, 4));
    assert.equal(out.prompt_tokens, greedy.prompt_ids.length);
    assert.equal(out.ep, "cpu");
    assert.equal(typeof out.text, "string");
    assert.ok(out.prefill_ms > 0 && out.decode_tokens_per_s > 0);
  });

  it("generate --mask-file changes the completion where the model differs", () => {
    const dir = mkdtempSync(join(tmpdir(), "monet-cli-"));
    try {
      // Mask every expert whose half-expert indices are both even: a large, arbitrary set.
      const groups = [0, 1].map(() =>
        Array.from({ length: 512 * 512 }, (_, e) => e).filter(
          (e) => (e >> 9) % 2 === 0 && (e & 511) % 2 === 0,
        ),
      );
      writeFileSync(join(dir, "mask.json"), JSON.stringify({ experts: 512, groups }));
      const prompt = "def read_config(path):\n";
      const plain = JSON.parse(run("generate", "--prompt", prompt, "--max-tokens", "12", "--json").stdout);
      const masked = JSON.parse(
        run(
          "generate",
          "--prompt",
          prompt,
          "--max-tokens",
          "12",
          "--json",
          "--mask-file",
          join(dir, "mask.json"),
        ).stdout,
      );
      assert.notDeepEqual(masked.ids, plain.ids);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("errors name the file and the fix, exit 1, no stack trace", () => {
    assertCleanError(run("info", "--model", "/nonexistent/model"), /\/nonexistent\/model/);
    const dir = mkdtempSync(join(tmpdir(), "monet-cli-"));
    try {
      cpSync(join(FIXTURES, "random-vd"), join(dir, "m"), { recursive: true });
      const weights = join(dir, "m", "model.safetensors");
      truncateSync(weights, statSync(weights).size - 1000);
      assertCleanError(
        run("info", "--model", join(dir, "m")),
        /model\.safetensors.*(truncated|ends at byte)/s,
      );
      // A checkpoint without its tokenizer: the error names the missing file.
      cpSync(join(FIXTURES, "random-vd"), join(dir, "n"), { recursive: true });
      assertCleanError(run("info", "--model", join(dir, "n")), /tokenizer\.model/);
      // A tokenizer that belongs to another model (8,192 pieces for a 512-row embedding).
      copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(dir, "n", "tokenizer.model"));
      assertCleanError(
        run("generate", "--model", join(dir, "n"), "--prompt", "x"),
        /8192 pieces.*vocab_size.*512/s,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assertCleanError(run("generate"), /--prompt/);
    assertCleanError(run("generate", "--prompt", "x", "--temperature", "-1"), /--temperature/);
    assertCleanError(run("frobnicate"), /unknown command/);
  });
});
