// Which precision `--dtype auto` converts a model to (docs/quantization.md). GPUs get float16.
// On the CPU decoding is bound by the bytes of weights read per token, and memory is what
// laptops lack: a model stays float32 (exact) while its float32 weights are small, else it is
// quantized to int8, or to int4 when int8 would take more than an eighth of the memory.
import { totalmem } from "node:os";
import type { GraphDtype } from "../model/monet-graph";
import type { ProviderName } from "./providers";

/** float32 weights up to this size stay float32 on the CPU (the demo model: 164 MB). */
export const CPU_FLOAT32_MAX_BYTES = 2 ** 30;

/** Bytes per weight: codes plus one float32 scale per block of 32 (docs/quantization.md). */
export const BYTES_PER_WEIGHT: Record<GraphDtype, number> = {
  float32: 4,
  float16: 2,
  int8: 1 + 4 / 32,
  int4: 0.5 + 4 / 32,
};

export function autoDtype(provider: ProviderName, parameters: number, memoryBytes = totalmem()): GraphDtype {
  if (provider !== "cpu") return "float16";
  const budget = memoryBytes / 8;
  if (parameters * BYTES_PER_WEIGHT.float32 <= Math.min(CPU_FLOAT32_MAX_BYTES, budget)) return "float32";
  return parameters * BYTES_PER_WEIGHT.int8 <= budget ? "int8" : "int4";
}
