// `monet-lens info`: describe and validate a checkpoint folder.
import { expertsPerGroup, routingGroupCount } from "../checkpoint/config";
import { openModelFolder } from "../engine/model-folder";
import { command } from "./command";
import { MODEL_OPTION, modelDirOrEmbedded } from "./engine-options";

export const infoCommand = command({
  name: "info",
  summary: "describe and validate a checkpoint",
  options: { ...MODEL_OPTION, json: { type: "boolean", help: "print one JSON object" } },
  run: info,
});

async function info(values: { model?: string; json?: boolean }): Promise<void> {
  const dir = modelDirOrEmbedded(values.model);
  // Validates config.json, every shard header and every shape, and the tokenizer.
  const { checkpoint: ckpt, tokenizer } = await openModelFolder(dir);
  try {
    const c = ckpt.config;
    const info = {
      model: ckpt.dir,
      architecture: `Monet-${c.moeDecompose === "vertical" ? "VD" : "HD"}`,
      parameters: ckpt.parameterCount(),
      dtype: ckpt.storedDtype(),
      layers: c.numLayers,
      hiddenSize: c.hiddenSize,
      attentionHeads: c.numHeads,
      kvHeads: c.numKvHeads,
      vocabSize: c.vocabSize,
      tokenizerPieces: tokenizer.vocabSize,
      maxPositions: c.maxPositionEmbeddings,
      tiedEmbeddings: c.tieWordEmbeddings,
      decomposition: c.moeDecompose,
      moeHeads: c.moeHeads,
      moeExperts: c.moeExperts,
      moeDim: c.moeDim,
      moeTopk: c.moeTopk,
      routingGroups: routingGroupCount(c),
      layersPerRoutingGroup: c.moeGroups,
      expertsPerGroup: expertsPerGroup(c),
      tensors: ckpt.names().length,
      valid: true,
    };
    if (values.json) {
      console.log(JSON.stringify(info, null, 2));
      return;
    }
    console.log(`${info.architecture} checkpoint at ${info.model}: valid`);
    console.log(`  parameters       ${info.parameters.toLocaleString("en-US")} (${info.dtype})`);
    console.log(
      `  layers           ${info.layers}, d=${info.hiddenSize}, ` +
        `${info.attentionHeads} attention heads (${info.kvHeads} kv)`,
    );
    console.log(`  vocabulary       ${info.vocabSize} (tokenizer: ${info.tokenizerPieces} pieces)`);
    console.log(
      `  experts          ${info.expertsPerGroup.toLocaleString("en-US")} per routing group = ` +
        `${info.moeExperts}×${info.moeExperts} half-experts, ${info.moeHeads} heads, dim ${info.moeDim}`,
    );
    console.log(
      `  routing groups   ${info.routingGroups} (a router every ${info.layersPerRoutingGroup} layers)`,
    );
  } finally {
    await ckpt.close();
  }
}
