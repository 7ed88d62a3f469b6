// The onnxruntime execution providers Monet Lens knows (declared once: the engine, the
// extension's settings, the CLI's help and package.json's enum use this list), and which of
// them can run on this machine, found by looking for their native libraries before asking
// onnxruntime (whose failed attempts log loudly and, for CUDA, try to load libraries that
// are not there). No onnxruntime import here: the extension host reads the list too.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";

/** In the order `auto` tries them. */
export const PROVIDER_NAMES = ["cuda", "webgpu", "cpu"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** What a user may ask for: a provider, or `auto` (the first of PROVIDER_NAMES that works here). */
export const EP_PREFERENCES = ["auto", ...PROVIDER_NAMES] as const;
export type EpPreference = (typeof EP_PREFERENCES)[number];

export interface ProviderProbe {
  name: ProviderName;
  /** Worth trying: the libraries it needs are present (it may still fail at session creation). */
  available: boolean;
  reason: string;
}

/** onnxruntime-node's folder of native binaries for this platform, if it can be found. */
export function onnxruntimeBinaryDir(): string | undefined {
  try {
    const pkg = require.resolve("onnxruntime-node/package.json");
    const dir = join(dirname(pkg), "bin", "napi-v6", process.platform, process.arch);
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const LIB_DIRS = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
  "/usr/lib/aarch64-linux-gnu",
];

function findLibrary(prefix: string): string | undefined {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), ...LIB_DIRS];
  for (const d of dirs) {
    try {
      const hit = readdirSync(d).find((f) => f.startsWith(prefix));
      if (hit) return join(d, hit);
    } catch {
      // not a readable directory: skip
    }
  }
  return undefined;
}

export function probeCuda(binDir = onnxruntimeBinaryDir()): ProviderProbe {
  const lib =
    process.platform === "win32" ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
  if (process.platform === "darwin")
    return { name: "cuda", available: false, reason: "CUDA is not available on macOS" };
  if (!binDir || !existsSync(join(binDir, lib))) {
    return {
      name: "cuda",
      available: false,
      reason:
        `${lib} is not installed next to onnxruntime-node (its install script downloads it on ` +
        `linux-x64 and win32-x64 when the network allows)`,
    };
  }
  if (process.platform === "linux" && !findLibrary("libcudart.so") && !findLibrary("libcublas.so")) {
    return {
      name: "cuda",
      available: true,
      reason:
        "CUDA provider present; libcudart/libcublas not found on the usual paths (may " +
        "still load through LD_LIBRARY_PATH or rpath)",
    };
  }
  return { name: "cuda", available: true, reason: "CUDA provider libraries present" };
}

export function probeWebGpu(): ProviderProbe {
  if (process.platform === "linux" && !findLibrary("libvulkan.so")) {
    return {
      name: "webgpu",
      available: false,
      reason:
        "libvulkan.so.1 not found: WebGPU on Linux runs through Vulkan (install the Vulkan " +
        "loader and a GPU driver, e.g. Debian's libvulkan1)",
    };
  }
  return {
    name: "webgpu",
    available: true,
    reason: process.platform === "linux" ? "Vulkan loader present" : "WebGPU is built into onnxruntime-node",
  };
}

/** Providers in the order `auto` tries them: CUDA, then WebGPU, then CPU. */
export function probeProviders(): ProviderProbe[] {
  return [probeCuda(), probeWebGpu(), { name: "cpu", available: true, reason: "always available" }];
}
