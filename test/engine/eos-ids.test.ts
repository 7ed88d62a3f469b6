// End-of-sequence ids beyond config.json's single one: generation_config.json's `eos_token_id`
// (an id or a list) stops generation too, as transformers' generate() does; a bad one is
// refused naming the file.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Checkpoint } from "../../src/checkpoint/checkpoint";
import { Engine } from "../../src/engine/engine";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

const PROMPT = "def add(a, b):\n    ";

/** The demo model's files linked into a new folder, with generation_config.json replaced. */
function variant(root: string, name: string, generationConfig: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const f of readdirSync(DEMO_MODEL))
    if (f !== "generation_config.json") symlinkSync(join(DEMO_MODEL, f), join(dir, f));
  writeFileSync(join(dir, "generation_config.json"), generationConfig);
  return dir;
}

describe("end-of-sequence ids from generation_config.json", () => {
  const root = mkdtempSync(join(TEST_CACHE, "..", "eos-ids-"));
  let firstToken: number;
  before(async () => {
    const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    try {
      const r = await engine.generate(PROMPT, { maxTokens: 3 });
      assert.ok(r.ids.length > 0 && r.stopReason !== "eos");
      firstToken = r.ids[0]!;
    } finally {
      await engine.close();
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("a list in generation_config.json adds its ids: generation stops at the first one with reason eos", async () => {
    const dir = variant(root, "list", JSON.stringify({ bos_token_id: 1, eos_token_id: [2, firstToken] }));
    const engine = await Engine.open({ modelDir: dir, ep: "cpu", cacheDir: TEST_CACHE });
    try {
      assert.deepEqual(engine.config.eosTokenIds, [2, firstToken]);
      assert.equal(engine.config.eosTokenId, 2, "config.json's stays the first");
      const r = await engine.generate(PROMPT, { maxTokens: 3 });
      assert.deepEqual(r.ids, []);
      assert.equal(r.stopReason, "eos");
      const past = await engine.generate(PROMPT, { maxTokens: 3, ignoreEos: true });
      assert.equal(past.ids[0], firstToken, "ignoreEos (benchmarks) still goes past it");
    } finally {
      await engine.close();
    }
  });

  it("the same id as config.json's, or no eos_token_id, changes nothing", async () => {
    for (const [name, json] of [
      ["same", '{"eos_token_id": 2}'],
      ["none", '{"bos_token_id": 1}'],
    ] as const) {
      const ckpt = await Checkpoint.open(variant(root, name, json), { validate: false });
      assert.deepEqual(ckpt.config.eosTokenIds, [2], name);
      await ckpt.close();
    }
  });

  it("an id outside the vocabulary, or a file that is not JSON, is refused naming the file", async () => {
    await assert.rejects(
      Checkpoint.open(variant(root, "big", '{"eos_token_id": [2, 99999]}'), { validate: false }),
      /generation_config\.json.*"eos_token_id" must be an integer from 0 to \d+ or a list of them, found 99999/s,
    );
    await assert.rejects(
      Checkpoint.open(variant(root, "bad", "{eos"), { validate: false }),
      /generation_config\.json.*is not valid JSON/s,
    );
  });
});
