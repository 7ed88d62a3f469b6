// Which precision `--dtype auto` converts a model to (docs/quantization.md). GPUs get float16.
// On the CPU a small model stays float32 (exact, and fast enough: the demo model decodes at
// tens of tokens per second); a large one is quantized, because decoding is bound by the bytes
// of weights read per token: on the 1.4B shape int8 decodes about 1.5× and int4 about 2.3×
// float32's rate (README "The 1.4B shape, quantized": medians of interleaved rounds). int8 is
// the default for large models (its cross-entropy is within 0.2 % of float32's in every
// language of the demo model, int4's within 3.8 %); int4 is taken where int8's weights would
// not fit in a third of the memory.
import { totalmem } from "node:os";
import type { GraphDtype } from "../model/monet-graph";
import type { ProviderName } from "./providers";

/** Float32 weights up to this size stay float32 on the CPU (the demo model: 164 MB). */
export const CPU_FLOAT32_MAX_BYTES = 2 ** 30;
/** The share of the machine's memory a model's weights may take. */
export const CPU_WEIGHTS_MEMORY_SHARE = 1 / 3;

/**
 * Bytes per weight: codes plus one float32 scale per block of 32 (docs/quantization.md); an upper
 * bound, since the experts' matrices take blocks of 128.
 */
export const BYTES_PER_WEIGHT: Record<GraphDtype, number> = {
  float32: 4,
  float16: 2,
  int8: 1 + 4 / 32,
  int4: 0.5 + 4 / 32,
};

/**
 * A large model: over CPU_FLOAT32_MAX_BYTES of float32 weights, one `auto` quantizes on the CPU.
 * It also takes shorter prefill chunks there (runner.ts) and huge pages under `auto` (huge-pages.ts).
 */
export function isLargeModel(parameters: number): boolean {
  return parameters * BYTES_PER_WEIGHT.float32 > CPU_FLOAT32_MAX_BYTES;
}

export function autoDtype(provider: ProviderName, parameters: number, memoryBytes = totalmem()): GraphDtype {
  if (provider !== "cpu") return "float16";
  const budget = memoryBytes * CPU_WEIGHTS_MEMORY_SHARE;
  if (!isLargeModel(parameters) && parameters * BYTES_PER_WEIGHT.float32 <= budget) return "float32";
  return parameters * BYTES_PER_WEIGHT.int8 <= budget ? "int8" : "int4";
}
