// The identity an atlas records for a model (ModelIdentity), from the checkpoint folder
// itself: for commands that read atlases without running the model (`experts`, `expert`),
// so that they start in a fraction of a second. The same values as model-identity.ts takes
// from a running engine (the fingerprint is the checkpoint's, which the converted model's
// manifest repeats).
import { basename } from "node:path";
import { Checkpoint } from "../checkpoint/checkpoint";
import type { MonetConfig } from "../checkpoint/config";
import { embeddedModelDir } from "../engine/model-paths";
import { routingGroups } from "../model/monet-graph";
import type { ModelIdentity } from "./atlas-file";

/** A model's identity from its folder name, checkpoint fingerprint and config. */
export function identityFromConfig(modelDir: string, fingerprint: string, c: MonetConfig): ModelIdentity {
  return {
    name: basename(modelDir),
    fingerprint,
    config: {
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      routingGroups: routingGroups(c),
      moeHeads: c.moeHeads,
      moeExperts: c.moeExperts,
      decompose: c.moeDecompose,
    },
  };
}

/** The identity of the model in `modelDir` (default: the embedded demo model). */
export async function checkpointIdentity(modelDir = embeddedModelDir()): Promise<ModelIdentity> {
  const ckpt = await Checkpoint.open(modelDir);
  try {
    return identityFromConfig(modelDir, await ckpt.fingerprint(), ckpt.config);
  } finally {
    await ckpt.close();
  }
}
