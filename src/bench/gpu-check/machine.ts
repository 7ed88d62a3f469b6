// What the GPU check records about the machine: CPU, GPUs and driver (nvidia-smi), CUDA and
// Vulkan versions, the CUDA libraries on the library path, the commit, and GPU memory in use.
// Every probe is best-effort: a missing tool gives null and a note, never an exception.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { cpus, freemem, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import type { GpuMemory } from "./report";

function run(cmd: string, args: string[], timeoutMs = 10_000): string | null {
  try {
    return execFileSync(cmd, args, {
      encoding: "utf8",
      timeout: timeoutMs,
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return null;
  }
}

export interface GpuInfo {
  name: string;
  driver: string;
  memory_total_mib: number;
  pci_bus_id: string;
}

export function nvidiaGpus(): GpuInfo[] {
  const out = run("nvidia-smi", [
    "--query-gpu=name,driver_version,memory.total,pci.bus_id",
    "--format=csv,noheader,nounits",
  ]);
  if (!out) return [];
  return out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [name = "", driver = "", mem = "0", pci = ""] = line.split(",").map((s) => s.trim());
      return { name, driver, memory_total_mib: Number(mem), pci_bus_id: pci };
    });
}

/** "CUDA Version: 13.0" from nvidia-smi's banner: the newest CUDA the driver supports. */
function cudaDriverVersion(): string | null {
  return run("nvidia-smi", [])?.match(/CUDA Version:\s*([\d.]+)/)?.[1] ?? null;
}

/** The Vulkan ICD's API version (the driver's Vulkan) and the loader library's file name. */
function vulkanInfo(): Record<string, string | null> {
  const icdFiles = [
    ...(process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES ?? "").split(":").filter(Boolean),
    "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json",
    "/usr/share/vulkan/icd.d/nvidia_icd.json",
    "/etc/vulkan/icd.d/nvidia_icd.json",
  ];
  let icd: string | null = null;
  let api: string | null = null;
  for (const f of icdFiles) {
    try {
      const j = JSON.parse(readFileSync(f, "utf8")) as { ICD?: { api_version?: string } };
      icd = f;
      api = j.ICD?.api_version ?? null;
      break;
    } catch {
      // not there
    }
  }
  return { icd_file: icd, icd_api_version: api, loader: libraryFile("libvulkan.so.1") };
}

const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"];

/** The newest versioned file name of a shared library on LD_LIBRARY_PATH or the usual paths. */
function libraryFile(prefix: string): string | null {
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean), ...LIB_DIRS];
  for (const d of dirs) {
    try {
      const hits = readdirSync(d)
        .filter((f) => f.startsWith(prefix))
        .sort((a, b) => b.length - a.length);
      if (hits.length) return join(d, hits[0]!);
    } catch {
      // unreadable: skip
    }
  }
  return null;
}

export function machineFacts(): Record<string, unknown> {
  const cpu = cpus();
  const osRelease = (() => {
    try {
      return readFileSync("/etc/os-release", "utf8").match(/^PRETTY_NAME="?([^"\n]*)"?/m)?.[1] ?? null;
    } catch {
      return null;
    }
  })();
  return {
    os: osRelease,
    kernel: release(),
    node: process.version,
    cpu: { model: cpu[0]?.model ?? "unknown", cores: cpu.length },
    memory_gib: +(totalmem() / 2 ** 30).toFixed(1),
    free_memory_gib: +(freemem() / 2 ** 30).toFixed(1),
    load_average: loadavg().map((x) => +x.toFixed(2)),
    gpus: nvidiaGpus(),
    cuda_driver_version: cudaDriverVersion(),
    vulkan: vulkanInfo(),
    cuda_libraries: {
      cudart: libraryFile("libcudart.so"),
      cublas: libraryFile("libcublas.so"),
      cublasLt: libraryFile("libcublasLt.so"),
      curand: libraryFile("libcurand.so"),
    },
  };
}

/** This process's GPU memory and the card's, from nvidia-smi (null where it does not say). */
export function gpuMemory(pid = process.pid): GpuMemory {
  const used = run("nvidia-smi", ["--query-gpu=memory.used", "--format=csv,noheader,nounits"]);
  if (used === null) return { process_mib: null, card_used_mib: null, note: "nvidia-smi not available" };
  const card = used
    .trim()
    .split("\n")
    .map(Number)
    .reduce((a, b) => a + b, 0);
  const apps = run("nvidia-smi", ["--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]);
  const mine = (apps ?? "")
    .trim()
    .split("\n")
    .map((l) => l.split(",").map((s) => s.trim()))
    .filter(([p]) => Number(p) === pid)
    .reduce((n, [, mib]) => n + Number(mib), 0);
  return {
    process_mib: mine > 0 ? mine : null,
    card_used_mib: card,
    ...(mine > 0
      ? {}
      : {
          note: "this process is not in nvidia-smi's compute apps (e.g. a Vulkan-only process, or another PID namespace)",
        }),
  };
}

/** The commit: git's if this is a checkout, else the one the staging script recorded. */
export function commitInfo(stageFile?: string): { id: string; dirty: boolean | null; source: string } {
  const id = run("git", ["rev-parse", "HEAD"])?.trim();
  if (id) {
    const status = run("git", ["status", "--porcelain", "--untracked-files=no"]);
    // models/ untracked for device calls (gpu-stage slim) is not a change to the code.
    const changes = status?.split("\n").filter((l) => l.trim() && !/ models\//.test(l));
    return { id, dirty: changes === undefined ? null : changes.length > 0, source: "git" };
  }
  if (stageFile && existsSync(stageFile)) {
    try {
      const s = JSON.parse(readFileSync(stageFile, "utf8")) as { commit?: string; dirty?: boolean };
      if (s.commit) return { id: s.commit, dirty: s.dirty ?? null, source: stageFile };
    } catch {
      // fall through
    }
  }
  return { id: "unknown", dirty: null, source: "none" };
}
