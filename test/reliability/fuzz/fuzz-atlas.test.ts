// Fuzz: the atlas reader (parseAtlas, and readAtlasFile for some) on thousands of mutated
// atlases: every value replaced by another type, a huge or negative number, removed, or a key
// added; expert sets re-encoded out of range, unsorted or overlapping; byte-level damage of
// the text. The base is a small atlas (2 routing groups of 16×16 experts, 3 languages). Each
// is an AtlasError naming the file, or an atlas that the model check and the masks accept
// or refuse with an AtlasError; never another error or a hang.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  AtlasError,
  checkAtlasModel,
  parseAtlas,
  readAtlasFile,
  serializeAtlas,
  type Atlas,
} from "../../../src/atlas/atlas-file";
import { DEFAULT_SPLIT } from "../../../src/atlas/corpus";
import { encodeExpertSet } from "../../../src/atlas/expert-set";
import { maskLanguages, resolveSteering } from "../../../src/atlas/steering-selection";
import { scratchDirs } from "../helpers";
import {
  applyBytes,
  applyJson,
  byteMutations,
  clearErrorOrValid,
  fuzz,
  jsonMutations,
  nastyValue,
  runs,
  toJsonText,
} from "./mutate";

const { fresh } = scratchDirs("fuzz-atlas-");
const FILE = join(fresh("atlas"), "small.atlas.json");
const E = 16;
const LANGS = ["lua", "python", "rust"];

const BASE: Atlas = {
  createdAt: "2025-01-01T00:00:00.000Z",
  model: {
    name: "small",
    fingerprint: "ab".repeat(32),
    config: {
      layers: 4,
      hiddenSize: 32,
      vocabSize: 512,
      routingGroups: 2,
      moeHeads: 2,
      moeExperts: E,
      decompose: "vertical",
    },
  },
  corpus: {
    root: "/corpus",
    split: DEFAULT_SPLIT,
    languages: Object.fromEntries(
      LANGS.map((l) => [l, { files: 5, heldOutFiles: 1, filesRead: 4, tokens: 900, bytes: 4000 }]),
    ),
    omitted: { c: "too few tokens" },
    skippedFiles: 2,
    seen: ["0123456789abcdef", "fedcba9876543210"],
  },
  params: { ratio: 2, minTokens: 100, maxTokensPerLanguage: 1000, segmentTokens: 256 },
  languages: LANGS,
  // Disjoint sets per group: language k takes the experts e with e % 5 === k.
  sets: new Map(
    LANGS.map((l, k) => [
      l,
      [0, 1].map((g) => Uint32Array.from({ length: E * E }, (_, e) => e).filter((e) => (e + g) % 5 === k)),
    ]),
  ),
  buildSeconds: 1.5,
};
const BASE_TEXT = serializeAtlas(BASE);
const BASE_JSON = JSON.parse(BASE_TEXT) as Record<string, unknown>;

/** A parsed atlas is usable: checked against its own model and a model of another shape, and turned into masks. */
function usable(value: unknown): void {
  const atlas = value as Atlas;
  try {
    checkAtlasModel(atlas, BASE.model, FILE);
    if (atlas.languages.length > 0) {
      const m = resolveSteering(atlas, maskLanguages(atlas.languages.slice(0, 2)), {
        unknown: "reject",
      }).steering;
      assert.equal(m.groups.length, atlas.model.config.routingGroups);
    }
  } catch (e) {
    if (!(e instanceof AtlasError)) throw e;
  }
}

/** Expert sets as the file writes them, but out of range, unsorted, repeated or huge. */
const badSet = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 2 ** 31 }), { maxLength: 8 }).map((xs) => {
    const sorted = [...new Set(xs)].sort((a, b) => a - b);
    return encodeExpertSet(sorted);
  }),
  fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b).toString("base64")),
  fc.string({ maxLength: 12 }),
);

describe("fuzz: atlas reader", () => {
  const tally = { valid: 0, refused: 0 };
  const count = (o: "valid" | "refused"): void => {
    tally[o]++;
  };
  let n = 0;
  const read = (text: string | Uint8Array) => {
    const fromFile = n++ % 5 === 0; // every fifth case through the file reader
    if (fromFile) writeFileSync(FILE, text);
    const asText = typeof text === "string" ? text : Buffer.from(text).toString("utf8");
    return clearErrorOrValid(
      FILE,
      [AtlasError],
      () => (fromFile ? readAtlasFile(FILE) : parseAtlas(asText, FILE)),
      usable,
    );
  };

  it("the unmutated atlas reads and gives masks", async () => {
    assert.equal(await read(BASE_TEXT), "valid");
  });

  it(`mutated values (${runs(2000)} atlases)`, async (t) => {
    await fuzz(
      fc.asyncProperty(
        jsonMutations([
          "count",
          "experts",
          "routingGroups",
          "moeExperts",
          "moeHeads",
          "languages",
          "groups",
          "version",
          "format",
        ]),
        async (m) => count(await read(toJsonText(applyJson(BASE_JSON, m)))),
      ),
      runs(2000),
    );
    t.diagnostic(`so far: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it(`expert sets out of range, overlapping or malformed, and counts that disagree (${runs(1000)} atlases)`, async (t) => {
    await fuzz(
      fc.asyncProperty(
        fc.nat(),
        fc.nat(),
        badSet,
        fc.oneof(fc.nat({ max: 20 }), nastyValue),
        async (g, l, experts, cnt) => {
          const json = structuredClone(BASE_JSON) as {
            groups: Array<Record<string, { count: unknown; experts: string }>>;
          };
          const group = json.groups[g % json.groups.length]!;
          group[LANGS[l % LANGS.length]!] = { count: cnt, experts };
          count(await read(toJsonText(json)));
        },
      ),
      runs(1000),
    );
    t.diagnostic(`so far: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });

  it(`byte-level damage (${runs(1000)} atlases)`, async (t) => {
    const bytes = Buffer.from(BASE_TEXT, "utf8");
    await fuzz(
      fc.asyncProperty(byteMutations(), async (m) => count(await read(applyBytes(bytes, m)))),
      runs(1000),
    );
    t.diagnostic(`total: ${tally.valid} valid, ${tally.refused} refused with a clear error`);
  });
});
