// Which model an engine runs, as atlases record it and the extension matches them: the
// folder's name, the checkpoint's content fingerprint (checkpoint.ts) and a summary of its
// configuration. The engine computes it once, when it opens the model.
import { basename } from "node:path";
import { routingGroupCount, type MonetConfig } from "../checkpoint/config";
import { snapshotOf } from "../hub/cache-layout";

export interface ModelIdentity {
  name: string;
  fingerprint: string;
  config: {
    layers: number;
    hiddenSize: number;
    vocabSize: number;
    routingGroups: number;
    moeHeads: number;
    moeExperts: number;
    decompose: "vertical" | "horizontal";
  };
}

export function modelIdentity(modelDir: string, fingerprint: string, c: MonetConfig): ModelIdentity {
  return {
    // A Hugging Face cache snapshot is named by its repo, not by its commit hash.
    name: snapshotOf(modelDir)?.repo.split("/")[1] ?? basename(modelDir),
    fingerprint,
    config: {
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      routingGroups: routingGroupCount(c),
      moeHeads: c.moeHeads,
      moeExperts: c.moeExperts,
      decompose: c.moeDecompose,
    },
  };
}
