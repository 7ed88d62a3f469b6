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
    ...overrides,
  };
}
