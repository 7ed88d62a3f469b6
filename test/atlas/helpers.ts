// A small hand-made atlas for the unit tests: E = 4 (16 experts per group), 2 groups.
import type { Atlas } from "../../src/atlas/atlas-file";

export function smallAtlas(overrides: Partial<Atlas> = {}): Atlas {
  return {
    createdAt: "2026-01-01T00:00:00.000Z",
    model: {
      name: "toy",
      fingerprint: "f".repeat(64),
      config: {
        layers: 2,
        hiddenSize: 8,
        vocabSize: 16,
        routingGroups: 2,
        moeHeads: 2,
        moeExperts: 4,
        decompose: "vertical",
      },
    },
    corpus: {
      root: "/corpus",
      split: { method: "every-kth-file-by-path", every: 5, offset: 4 },
      languages: {
        lua: { files: 4, heldOutFiles: 1, filesRead: 4, tokens: 100, bytes: 300 },
        python: { files: 8, heldOutFiles: 2, filesRead: 3, tokens: 120, bytes: 400 },
      },
      omitted: {},
      skippedFiles: 0,
      seen: ["0123456789abcdef"],
    },
    params: { ratio: 2, minTokens: 10, maxTokensPerLanguage: 120, segmentTokens: 64 },
    languages: ["lua", "python"],
    sets: new Map([
      ["lua", [Uint32Array.of(0, 5), Uint32Array.of(15)]],
      ["python", [Uint32Array.of(1, 2, 3), Uint32Array.of()]],
    ]),
    controls: [],
    controlSets: new Map(),
    ...overrides,
  };
}

/** smallAtlas with a control class "plaintext" (experts 7 and 12 of group 0, 4 of group 1) and baselines. */
export function smallAtlasWithControl(overrides: Partial<Atlas> = {}): Atlas {
  const base = smallAtlas();
  return smallAtlas({
    corpus: {
      ...base.corpus,
      languages: {
        ...base.corpus.languages,
        plaintext: { files: 3, heldOutFiles: 1, filesRead: 3, tokens: 110, bytes: 500 },
      },
    },
    controls: ["plaintext"],
    controlSets: new Map([["plaintext", [Uint32Array.of(7, 12), Uint32Array.of(4)]]]),
    baselines: new Map([
      ["lua", [0.1, 0.05]],
      ["python", [0.2, 0]],
      ["plaintext", [0.05, 0.1]],
    ]),
    ...overrides,
  });
}
