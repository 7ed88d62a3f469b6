// Bad input as users give it, through the paths the extension uses: model folders that are
// not CodeMonet checkpoints (another architecture, missing or truncated or malformed files,
// a tokenizer from another model), atlases for another model or damaged, and text that is
// huge, binary or mostly unknown characters, or has CRLF, tabs, emoji and non-BMP characters.
// Each is refused with a message naming the file or setting and what to do, or handled;
// the engine process survives all of it.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  copyFileSync,
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { writeSyntheticCheckpoint, type HfMonetConfigJson } from "../../src/checkpoint/synth";
import { CompletionController } from "../../src/completion/controller";
import { promptTokenizer } from "../../src/completion/prompt";
import { EngineClient } from "../../src/engine/engine-client";
import type { EngineInfo } from "../../src/engine/protocol";
import { tokenOffsets } from "../../src/heatmap/span-range";
import { SentencePieceTokenizer } from "../../src/tokenizer/tokenizer";
import { AtlasManager } from "../../src/app/atlas-manager";
import { validateModelFolder } from "../../src/app/commands";
import { DEFAULTS } from "../../src/app/config";
import { FakeMemento } from "../helpers/fakes";
import { DEMO_MODEL, FIXTURES, TEST_CACHE } from "../helpers/fixtures";
import { scratchDirs } from "./helpers";

const { root: scratch, fresh } = scratchDirs("reliability-input-");
/** A copy of the random-vd fixture with the demo tokenizer's file name but a chosen tokenizer. */
const fixtureCopy = (label: string) => {
  const d = fresh(label);
  for (const f of ["config.json", "model.safetensors"])
    copyFileSync(join(FIXTURES, "random-vd", f), join(d, f));
  return d;
};

const SMALL: HfMonetConfigJson = {
  hidden_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  moe_dim: 4,
  moe_heads: 2,
  moe_experts: 8,
  moe_topk: 2,
  max_position_embeddings: 64,
};

describe("model folders that are not usable CodeMonet checkpoints", () => {
  const client = (dir: string) =>
    new EngineClient({ modelDir: dir, ep: "cpu", cacheDir: join(scratch, "cache") });
  /** The extension's folder check and the engine both refuse it, naming `file` and saying what to do. */
  const refused = async (dir: string, file: string, why: RegExp) => {
    await assert.rejects(
      validateModelFolder(dir),
      (e: Error) => e.message.startsWith(file) && why.test(e.message),
    );
    const c = client(dir);
    try {
      await assert.rejects(c.start(), (e: Error) => e.message.includes(file) && why.test(e.message));
    } finally {
      await c.close();
    }
  };

  it("another architecture (a LLaMA folder)", async () => {
    const d = fresh("llama");
    writeFileSync(
      join(d, "config.json"),
      JSON.stringify({ model_type: "llama", architectures: ["LlamaForCausalLM"], vocab_size: 32000 }),
    );
    copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(d, "tokenizer.model"));
    await refused(d, join(d, "config.json"), /not a CodeMonet checkpoint/);
  });

  it("missing tokenizer.model, and a Hugging Face tokenizer.json instead", async () => {
    const d = fixtureCopy("no-tokenizer");
    await refused(d, join(d, "tokenizer.model"), /tokenizer\.model/);
    writeFileSync(join(d, "tokenizer.json"), "{}");
    await refused(
      d,
      join(d, "tokenizer.model"),
      /tokenizer\.json .*not supported yet; put the model's SentencePiece tokenizer\.model in/,
    );
  });

  it("truncated weights (an interrupted download) and a malformed safetensors header", async () => {
    const d = fixtureCopy("truncated");
    copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(d, "tokenizer.model"));
    const w = join(d, "model.safetensors");
    truncateSync(w, statSync(w).size - 4096);
    await refused(d, w, /truncated|ends at byte/);
    const bad = Buffer.alloc(64);
    bad.writeBigUInt64LE(40n, 0);
    bad.write("{not json at all, just bytes.........", 8);
    writeFileSync(w, bad);
    await refused(d, w, /header/i);
  });

  it("shapes that do not match config.json", async () => {
    const d = fresh("wrong-config");
    cpSync(join(FIXTURES, "random-vd"), d, { recursive: true });
    rmSync(join(d, "expected.safetensors"));
    copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(d, "tokenizer.model"));
    const cfg = JSON.parse(readFileSync(join(d, "config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(d, "config.json"), JSON.stringify({ ...cfg, hidden_size: 128 }));
    await assert.rejects(
      validateModelFolder(d),
      /has shape .* but .*config\.json implies .*config\.json most likely does not belong to these weights/,
    );
  });

  it("a tokenizer whose vocabulary does not match the embeddings: too many pieces, or far too few", async () => {
    // The demo tokenizer has 8,192 pieces.
    for (const [label, vocab, what] of [
      [
        "too-small-embeddings",
        4096,
        /8192 pieces but config\.json's vocab_size \(the embedding rows\) is 4096: they belong to different models; use the tokenizer\.model that came with this checkpoint/,
      ],
      [
        "too-large-embeddings",
        32000,
        /8192 pieces but config\.json's vocab_size \(the embedding rows\) is 32000/,
      ],
    ] as const) {
      const d = fresh(label);
      await writeSyntheticCheckpoint(d, { ...SMALL, vocab_size: vocab }, { seed: 3 });
      copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(d, "tokenizer.model"));
      await refused(d, join(d, "tokenizer.model"), what);
    }
    // Padding rows (a few hundred past the pieces, as real checkpoints have) are fine.
    const padded = fresh("padded");
    await writeSyntheticCheckpoint(padded, { ...SMALL, vocab_size: 8192 + 320 }, { seed: 3 });
    copyFileSync(join(DEMO_MODEL, "tokenizer.model"), join(padded, "tokenizer.model"));
    assert.match(await validateModelFolder(padded), /^CodeMonet-VD/);
  });
});

describe("atlases for another model, or damaged", () => {
  let client: EngineClient;
  let info: EngineInfo;
  before(async () => {
    client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    info = await client.start();
  });
  after(async () => client.close());

  it("the atlasPath setting pointing at an atlas of another model, a damaged one, or a missing one: a warning naming the setting, and no masks from it", () => {
    const shipped = join(process.cwd(), "models", "atlases");
    const good = join(shipped, readdirSync(shipped).find((f) => f.endsWith(".atlas.json"))!);
    const text = readFileSync(good, "utf8");
    const foreign = join(fresh("atlas"), "foreign.atlas.json");
    writeFileSync(foreign, text.replace(/"fingerprint": "[0-9a-f]+"/, `"fingerprint": "${"ab".repeat(32)}"`));
    const damaged = join(fresh("atlas"), "damaged.atlas.json");
    writeFileSync(damaged, text.slice(0, Math.floor(text.length / 2)));
    const missing = join(scratch, "nowhere.atlas.json");
    for (const [path, why] of [
      [
        foreign,
        /monetLens\.atlasPath: .*foreign\.atlas\.json was built for the model .* not for the model being run, .*; build an atlas for this model/,
      ],
      [
        damaged,
        /monetLens\.atlasPath: .*damaged\.atlas\.json: the atlas file is damaged \(not valid JSON.*\); rebuild it/,
      ],
      [missing, /monetLens\.atlasPath: .*nowhere\.atlas\.json: no such atlas file/],
    ] as const) {
      const warnings: string[] = [];
      const m = new AtlasManager({
        state: new FakeMemento(),
        log: () => undefined,
        warn: (l) => warnings.push(l),
        shippedDir: null,
      });
      assert.notEqual(
        m.active(info, path)?.path,
        path,
        "nothing from that file is used (the model's own atlas, if any, is)",
      );
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, why);
    }
  });
});

describe("text that is huge, binary, mostly unknown characters, or has CRLF, tabs, emoji and non-BMP characters", () => {
  let client: EngineClient;
  let info: EngineInfo;
  let pid: number;
  const tokenizer = SentencePieceTokenizer.fromFile(join(DEMO_MODEL, "tokenizer.model"));
  before(async () => {
    client = new EngineClient({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
    info = await client.start();
    pid = client.pid!;
  });
  after(async () => client.close());

  const binary = (bytes: number) => {
    let s = "";
    let x = 12345;
    for (let i = 0; i < bytes; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      s += String.fromCharCode(x >>> 24); // NULs, control characters, Latin-1
    }
    return `${s}\ud800x\udc00`; // and lone surrogates, as a broken file decodes
  };
  const unknown = (chars: number) =>
    Array.from({ length: chars }, (_, i) =>
      i % 3 === 0 ? String.fromCodePoint(0x20000 + i) : String.fromCharCode(0xe000 + (i % 6000)),
    ).join("");

  it("completion on megabytes of text, binary text and unknown characters: a bounded prompt, an answer, the engine alive", async () => {
    const controller = new CompletionController({
      engine: client,
      model: async () => ({
        key: "demo",
        tokenizer: promptTokenizer(tokenizer),
        maxPositions: info.config.maxPositionEmbeddings,
      }),
      steering: () => undefined,
      settings: () => ({ ...DEFAULTS, maxTokens: 8, debounceMs: 0 }),
      onEvent: (e) => {
        if (e.type === "generated") prompts.push(e.result.promptTokens);
        if (e.type === "failed") failures.push(e.error.message);
      },
    });
    const prompts: number[] = [];
    const failures: string[] = [];
    const code = "def f(x):\n    return x * 2\n\n";
    const huge = code.repeat(Math.ceil(3e6 / code.length)); // 3 MB
    for (const textBefore of [huge, binary(200_000), unknown(50_000), `${binary(3000)}\ndef g():\n    `]) {
      await controller.provide({
        docKey: `file:///x/${textBefore.length}`,
        languageId: "python",
        textBefore,
        beforeStart: 0,
        textAfter: "",
        tabSize: 4,
        manual: true,
      });
    }
    assert.deepEqual(failures, []);
    assert.equal(prompts.length, 4, "every request reached the engine and came back");
    assert.ok(
      prompts.every((t) => t <= DEFAULTS.contextTokens + 1),
      `prompts of ${prompts.join(", ")} tokens: within the budget`,
    );
    assert.equal(client.pid, pid, "the same engine process throughout");
  });

  it("routing binary text and unknown characters: valid spans; a selection of too many tokens is refused with the limit", async () => {
    for (const text of [binary(600), unknown(200)]) {
      const r = await client.route(text);
      assert.equal(r.spans.length, r.ids.length);
      let prev = 0;
      for (const [s, e] of r.spans) {
        assert.ok(s >= prev - 1 && s <= e && e <= text.length, `span [${s}, ${e}) in ${text.length}`);
        prev = e;
      }
    }
    await assert.rejects(
      client.route(unknown(20_000)),
      /the text has \d+ tokens; the model reads at most 2048 at once/,
    );
    assert.equal(client.pid, pid);
  });

  it("CRLF, tabs, emoji and non-BMP characters: every routed token maps to editor offsets that select its own text, never half a character or half a line break", async () => {
    const text = "\tdef 𝔣𝔲𝔫(x):\r\n\t\treturn '🚀' + \"𠀀𠀁\"  # ünï\r\n\r\n\tpass 😀😀\r\n";
    const base = 1000; // the selection's offset in the document
    const r = await client.route(text);
    const spans = r.spans.slice(1); // BOS is not shown
    assert.ok(spans.length > 10);
    for (let k = 0; k < spans.length; k++) {
      const { start, end } = tokenOffsets(text, base, spans, k, k + 1);
      const selected = text.slice(start - base, end - base);
      const own = text.slice(spans[k]![0], spans[k]![1]);
      assert.ok(selected.includes(own), `token ${k}`);
      for (const edge of [start - base, end - base]) {
        const before = text.charCodeAt(edge - 1);
        const after = text.charCodeAt(edge);
        assert.ok(!(before === 13 && after === 10), `token ${k} does not split a CRLF`);
        assert.ok(
          !(before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff),
          `token ${k} does not split a surrogate pair`,
        );
      }
    }
    const all = tokenOffsets(text, base, spans, 0, spans.length);
    assert.equal(text.slice(all.start - base, all.end - base).trimStart(), text.trimStart());
  });
});
