// Fuzz: the config.json reader (loadConfig / loadConfigAsync) on thousands of mutated files:
// every key of a real config.json replaced by another type, a huge, negative, fractional or
// non-finite number, removed, or added; and byte-level damage of the text. Each is a
// CheckpointError naming the file, or a configuration whose every size is within the limits
// Monet Lens supports, whose tensor list can be built at once; never another error or a hang.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expectedTensors } from "../../../src/checkpoint/checkpoint";
import {
  CONFIG_LIMITS,
  HF_CONFIG_DEFAULTS,
  MIN_POSITIONS,
  loadConfig,
  loadConfigAsync,
  routingGroupCount,
  type MonetConfig,
} from "../../../src/checkpoint/config";
import { CheckpointError } from "../../../src/checkpoint/errors";
import { DEMO_MODEL } from "../../helpers/fixtures";
import { scratchDirs } from "../helpers";
import {
  applyBytes,
  applyJson,
  byteMutations,
  clearErrorOrValid,
  fuzz,
  jsonMutations,
  runs,
  toJsonText,
} from "./mutate";

const { fresh } = scratchDirs("fuzz-config-");
const dir = fresh("model");
const file = join(dir, "config.json");
const BASE_TEXT = readFileSync(join(DEMO_MODEL, "config.json"), "utf8");
const BASE = JSON.parse(BASE_TEXT) as Record<string, unknown>;
const KEYS = [
  ...Object.keys(HF_CONFIG_DEFAULTS),
  "num_key_value_heads",
  "head_dim",
  "rope_scaling",
  "model_type",
  "architectures",
];

/** A configuration the rest of the project can build on: sizes in range, the tensor list quick to make. */
function usable(value: unknown): void {
  const c = value as MonetConfig;
  const sizes: Array<[keyof typeof CONFIG_LIMITS, number]> = [
    ["vocab_size", c.vocabSize],
    ["hidden_size", c.hiddenSize],
    ["num_hidden_layers", c.numLayers],
    ["num_attention_heads", c.numHeads],
    ["max_position_embeddings", c.maxPositionEmbeddings],
    ["moe_dim", c.moeDim],
    ["moe_heads", c.moeHeads],
    ["moe_experts", c.moeExperts],
    ["moe_groups", c.moeGroups],
  ];
  for (const [key, v] of sizes) {
    assert.ok(Number.isSafeInteger(v) && v >= 1 && v <= CONFIG_LIMITS[key]!, `${key} ${v} within the limits`);
  }
  assert.ok(c.maxPositionEmbeddings >= MIN_POSITIONS);
  assert.ok(c.numKvHeads >= 1 && c.numHeads % c.numKvHeads === 0);
  assert.ok(Number.isInteger(c.headDim) && c.headDim % 2 === 0);
  assert.ok(c.bosTokenId < c.vocabSize && c.eosTokenId < c.vocabSize);
  assert.ok(Number.isFinite(c.rmsNormEps) && c.rmsNormEps > 0 && Number.isFinite(c.ropeTheta));
  assert.ok(routingGroupCount(c) >= 1);
  assert.ok(expectedTensors(c).size <= 17 * 1024 + 3);
}

describe("fuzz: config.json reader", () => {
  const tally = { valid: 0, refused: 0 };
  const count = (o: "valid" | "refused"): void => {
    tally[o]++;
  };
  let n = 0;
  const read = (text: string | Uint8Array) => {
    writeFileSync(file, text);
    const async = n++ % 4 === 0; // every fourth case through the extension host's reader
    return clearErrorOrValid(
      file,
      [CheckpointError],
      () => (async ? loadConfigAsync(dir) : loadConfig(dir)),
      usable,
    );
  };

  it("the unmutated config.json reads", async () => {
    assert.equal(await read(BASE_TEXT), "valid");
  });

  it(`mutated values (${runs(3000)} files)`, async (t) => {
    await fuzz(
      fc.asyncProperty(jsonMutations(KEYS), async (m) => count(await read(toJsonText(applyJson(BASE, m))))),
      runs(3000),
    );
    t.diagnostic(`so far: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it(`byte-level damage (${runs(1500)} files)`, async (t) => {
    const bytes = Buffer.from(BASE_TEXT, "utf8");
    await fuzz(
      fc.asyncProperty(byteMutations(), async (m) => count(await read(applyBytes(bytes, m)))),
      runs(1500),
    );
    t.diagnostic(`total: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });
});
