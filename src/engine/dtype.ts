// Which precision `--dtype auto` converts a model to (docs/quantization.md). GPUs get float16.
// On the CPU a model stays float32 (exact, and the fastest measured: the 1.4B shape decoded at
// 6.1 tokens/s in float32 and 1.5 in int8 or int4, README "Quantized weights") while its float32
// weights fit in a third of the memory; past that it is quantized to int8, or to int4 when int8
// would not fit either: quantization is what lets a model run at all on a small machine.
import { totalmem } from "node:os";
import type { GraphDtype } from "../model/monet-graph";
import type { ProviderName } from "./providers";

/** The share of the machine's memory a model's weights may take before auto quantizes them. */
export const CPU_WEIGHTS_MEMORY_SHARE = 1 / 3;

/** Bytes per weight: codes plus one float32 scale per block of 32 (docs/quantization.md). */
export const BYTES_PER_WEIGHT: Record<GraphDtype, number> = {
  float32: 4,
  float16: 2,
  int8: 1 + 4 / 32,
  int4: 0.5 + 4 / 32,
};

export function autoDtype(provider: ProviderName, parameters: number, memoryBytes = totalmem()): GraphDtype {
  if (provider !== "cpu") return "float16";
  const budget = memoryBytes * CPU_WEIGHTS_MEMORY_SHARE;
  if (parameters * BYTES_PER_WEIGHT.float32 <= budget) return "float32";
  return parameters * BYTES_PER_WEIGHT.int8 <= budget ? "int8" : "int4";
}
