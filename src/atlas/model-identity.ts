// Which model an engine runs, as an atlas records it: the folder's name, the checkpoint
// fingerprint (read from the converted model's manifest, which Engine.open wrote or
// checked against the checkpoint) and a summary of its configuration.
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Engine } from "../engine/engine";
import { MANIFEST_FILE, type ConvertedManifest } from "../model/convert";
import type { ModelIdentity } from "./atlas-file";

export function modelIdentity(engine: Engine): ModelIdentity {
  let fingerprint: string;
  try {
    fingerprint = (
      JSON.parse(readFileSync(join(engine.convertedDir, MANIFEST_FILE), "utf8")) as ConvertedManifest
    ).fingerprint;
  } catch (e) {
    throw new Error(
      `cannot read the model's fingerprint from ${join(engine.convertedDir, MANIFEST_FILE)} (${(e as Error).message})`,
    );
  }
  const c = engine.config;
  return {
    name: basename(engine.modelDir),
    fingerprint,
    config: {
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      vocabSize: c.vocabSize,
      routingGroups: engine.routingGroups,
      moeHeads: c.moeHeads,
      moeExperts: c.moeExperts,
      decompose: c.moeDecompose,
    },
  };
}
