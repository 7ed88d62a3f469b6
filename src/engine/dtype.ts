// Which precision `--dtype auto` converts a model to (docs/quantization.md): GPUs get float16;
// on the CPU, where decoding is bound by the bytes of weights read per token, a model whose
// float32 weights are small stays float32 (exact), and larger ones are quantized.
import type { GraphDtype } from "../model/monet-graph";
import type { ProviderName } from "./providers";

/** float32 weights up to this size stay float32 on the CPU (the demo model: 164 MB). */
export const CPU_FLOAT32_MAX_BYTES = 1 << 30;

export function autoDtype(provider: ProviderName, parameters: number): GraphDtype {
  if (provider !== "cpu") return "float16";
  return parameters * 4 <= CPU_FLOAT32_MAX_BYTES ? "float32" : "int8";
}
