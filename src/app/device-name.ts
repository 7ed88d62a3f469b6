// A name for the device the engine runs on, for the status bar: the GPU's name when
// nvidia-smi can tell it (CUDA), else the provider, and the CPU's model for the CPU.
import { execFile } from "node:child_process";
import { cpus } from "node:os";

let cudaName: Promise<string | undefined> | undefined;

export async function deviceName(ep: string): Promise<string> {
  if (ep === "cuda") {
    cudaName ??= queryNvidiaSmi();
    return (await cudaName) ?? "CUDA GPU";
  }
  if (ep === "webgpu") return "WebGPU";
  return "CPU";
}

/** The CPU's model and core count, for tooltips. */
export function cpuDescription(): string {
  const list = cpus();
  return list.length ? `${list[0]!.model.trim()} (${list.length} logical cores)` : "unknown CPU";
}

function queryNvidiaSmi(): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      "nvidia-smi",
      ["--query-gpu=name", "--format=csv,noheader"],
      { timeout: 3000 },
      (err, stdout) => {
        const name = err ? undefined : stdout.split("\n")[0]?.trim();
        resolve(name || undefined);
      },
    );
  });
}
