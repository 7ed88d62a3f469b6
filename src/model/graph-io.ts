// The converted graph's inputs and outputs: the contract between the converter
// (monet-graph.ts) and the engine's runner (src/engine/runner.ts), which feeds and reads
// them by these names. Batch size is 1.

/** Names of the graph's inputs and outputs, shared with the engine. */
export const io = {
  inputIds: "input_ids", // int64 [1, T]
  numLogits: "num_logits", // int64 [1]: logits for the last n positions
  maskActive: "mask_active", // bool []: apply the matrices below (false: no expert is steered)
  // float [E, E] per routing group g: M = 1 − S, S the scale of each expert (i, j) (monet-math.md,
  // Steering): 1 masks the expert, 0 leaves it alone, −0.5 amplifies it 1.5 times
  mask: (g: number) => `mask.${g}`,
  // int64 [1]: cached tokens P (padded attention, whose cache buffers may be longer)
  pastLength: "past_length",
  // float [1, kvH, P, hd] (padded attention: [1, kvH, C ≥ P, hd], first P valid)
  pastKey: (l: number) => `past_key.${l}`,
  pastValue: (l: number) => `past_value.${l}`,
  logits: "logits", // float [1, n, V]
  // float [1, kvH, P+T, hd] (padded attention: the T new positions only, [1, kvH, T, hd])
  presentKey: (l: number) => `present_key.${l}`,
  presentValue: (l: number) => `present_value.${l}`,
  g1: (g: number) => `router.${g}.g1`, // float [1, T, H, E]
  g2: (g: number) => `router.${g}.g2`,
};
