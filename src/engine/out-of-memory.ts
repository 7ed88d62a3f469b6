// onnxruntime reports running out of memory as "std::bad_alloc" or "Failed to allocate
// memory", which says nothing to a user. These helpers recognise it and say instead how big
// the model is and what to do.
import { statSync } from "node:fs";
import { expectedTensors } from "../checkpoint/checkpoint";
import type { MonetConfig } from "../checkpoint/config";
import { numel } from "../checkpoint/safetensors";
import { formatBytes } from "../files/regular-file";
import type { GraphDtype } from "../model/monet-graph";
import { BYTES_PER_WEIGHT } from "./dtype";

/** What to convert to instead: quantized weights take a third (int8) or a sixth (int4) of float32's. */
const SMALLER_WEIGHTS =
  "quantized weights (--dtype int8: about a third of the float32 memory, int4: about a sixth; docs/quantization.md)";

export class OutOfMemoryError extends Error {
  override readonly name = "OutOfMemoryError";
}

const OOM = /bad_alloc|out of memory|failed to allocate|cannot allocate memory|\bENOMEM\b|OrtMemoryError/i;

export function isOutOfMemory(e: unknown): boolean {
  return OOM.test(e instanceof Error ? e.message : String(e));
}

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200);

/** Session creation ran out of memory: the size of the converted model on disk is what had to fit. */
export function outOfMemoryAtLoad(modelPath: string, e: unknown): OutOfMemoryError {
  let bytes = 0;
  for (const f of [modelPath, `${modelPath}.data`]) {
    try {
      bytes += statSync(f).size;
    } catch {
      // a missing data file: the size stays what could be measured
    }
  }
  return new OutOfMemoryError(
    `not enough memory to load the model (${formatBytes(bytes)} of weights in ${modelPath}; onnxruntime said: ${firstLine(e)}): close other programs, use ${SMALLER_WEIGHTS}, or use a smaller model`,
  );
}

/** A run ran out of memory: the weights plus the keys and values of `tokens` positions had to fit. */
export function outOfMemoryAtRun(
  config: MonetConfig,
  dtype: GraphDtype,
  tokens: number,
  e: unknown,
  /** The cache's element type (quantized graphs keep a float16 cache). */
  cacheDtype: "float32" | "float16" = dtype === "float32" ? "float32" : "float16",
): OutOfMemoryError {
  // The router and the norms stay float32 in quantized graphs: this slightly undercounts them.
  let weights = 0;
  for (const shape of expectedTensors(config).values()) weights += numel(shape) * BYTES_PER_WEIGHT[dtype];
  const cacheBytesPer = cacheDtype === "float16" ? 2 : 4;
  const cache = 2 * config.numLayers * config.numKvHeads * config.headDim * tokens * cacheBytesPer;
  return new OutOfMemoryError(
    `not enough memory to run the model on ${tokens} tokens (${formatBytes(weights)} of ${dtype} weights and ${formatBytes(cache)} of cached keys and values; onnxruntime said: ${firstLine(e)}): use fewer context tokens (monetLens.contextTokens), ${SMALLER_WEIGHTS}, or close other programs`,
  );
}
