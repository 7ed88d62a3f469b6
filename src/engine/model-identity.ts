// Which model an engine runs, as atlases record it and the extension matches them: the
// folder's name, the checkpoint's content fingerprint (checkpoint.ts) and a summary of its
// configuration. The engine computes it once, when it opens the model.
import { basename } from "node:path";
import { Checkpoint } from "../checkpoint/checkpoint";
import { routingGroupCount, type MonetConfig } from "../checkpoint/config";
import { hashCacheFileIn } from "../checkpoint/content-hash";
import { cacheDirFor } from "./model-store";
import { embeddedModelDir } from "./model-paths";
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

/**
 * The identity of the model in `modelDir` (default: the embedded demo model) from the
 * checkpoint itself, without converting or running it: for commands that only read atlases
 * (`experts`, `expert`). The fingerprint is the one the engine computes (and remembers in the
 * same cache), so atlases match either way.
 */
export async function checkpointIdentity(modelDir = embeddedModelDir()): Promise<ModelIdentity> {
  const ckpt = await Checkpoint.open(modelDir);
  try {
    const fingerprint = await ckpt.fingerprint({ cacheFile: hashCacheFileIn(cacheDirFor()) });
    return modelIdentity(modelDir, fingerprint, ckpt.config);
  } finally {
    await ckpt.close();
  }
}
