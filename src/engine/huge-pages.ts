// Transparent huge pages for the engine process (`monetLens.hugePages`; README, "Huge pages").
// Decoding streams through every weight once a token, and with 4 KiB pages that costs a TLB
// miss every 4 KiB (dearer still in a VM); where the kernel gives huge pages only on request
// (transparent_hugepage=madvise, as on Ubuntu and in many VMs) onnxruntime's allocations never
// get them. glibc's malloc asks for them when the process starts with the tunable below
// (glibc 2.35 and later; older glibc and other C libraries ignore it, as does every platform
// but Linux). Tunables are read at process start: the engine process gets it in its environment.
// `bench` reports how much of its memory ended up in huge pages.
//
// The setting is auto | on | off. auto asks for them for large models (over 1 GiB of float32
// weights, those `--dtype auto` quantizes on the CPU: the 1.4B decoded 1.45–2.5× faster with
// them on a 2-core VM) and not for small ones (the demo model gained nothing measurable), on
// Linux only, and only with 8 GiB of memory or more: huge pages hold up to about 190 MiB more
// at the int4 1.4B's peak, and under a 2 GB memory limit that model, which runs a 1,024-token
// prompt at full speed without them, thrashed with them (23.9 → 1.6 tokens/s; README, "Huge
// pages"). The model's size comes from its config.json (the tensors it must hold), so that the
// choice is made before the engine process starts, without reading the weights.
import { totalmem } from "node:os";
import { ownProcFieldMiB, procFieldMiB } from "../files/proc-memory";
import { expectedTensors } from "../checkpoint/checkpoint";
import { loadConfig } from "../checkpoint/config";
import { numel } from "../checkpoint/safetensors";
import { isLargeModel } from "./dtype";

/** monetLens.hugePages and the CLI's --huge-pages. */
export const HUGE_PAGES_CHOICES = ["auto", "on", "off"] as const;
export type HugePagesChoice = (typeof HUGE_PAGES_CHOICES)[number];

/** The tunable that makes glibc's malloc madvise its large mappings for huge pages. */
export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** `env` with the tunable added beside any others, unless it already sets glibc.malloc.hugetlb (the user's wins). */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES ?? "";
  if (hugePagesTunableSet(env)) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** The AnonHugePages line of /proc/PID/smaps_rollup, in MiB; undefined when absent. */
export function anonHugePagesMiB(smapsRollup: string): number | undefined {
  return procFieldMiB(smapsRollup, "AnonHugePages");
}

/** This process's anonymous memory in huge pages (MiB); undefined off Linux or when unreadable. */
export function ownAnonHugePagesMiB(): number | undefined {
  return ownProcFieldMiB("smaps_rollup", "AnonHugePages");
}

/** auto leaves huge pages off below this much memory (the machine's, or a memory limit's). */
export const HUGE_PAGES_MIN_MEMORY = 8 * 2 ** 30;

/** The memory this process may use: the machine's, or a memory limit's (cgroup) when lower. */
export function memoryLimitBytes(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(totalmem(), limit) : totalmem();
}

/** Whether a model of `parameters` weights gets huge pages under `choice` on `platform`. */
export function hugePagesFor(
  choice: HugePagesChoice,
  parameters: number | undefined,
  platform: NodeJS.Platform = process.platform,
  memoryBytes: number = memoryLimitBytes(),
): boolean {
  if (platform !== "linux" || choice === "off") return false;
  if (choice === "on") return true;
  return parameters !== undefined && isLargeModel(parameters) && memoryBytes >= HUGE_PAGES_MIN_MEMORY;
}

/**
 * The weights a checkpoint folder's config.json says it holds; undefined when the folder has no
 * readable config (the engine then reports the problem itself: this is only a size estimate).
 */
export function configParameters(modelDir: string): number | undefined {
  try {
    let n = 0;
    for (const shape of expectedTensors(loadConfig(modelDir)).values()) n += numel(shape);
    return n;
  } catch {
    return undefined;
  }
}

/** The choice for a model folder (undefined: the embedded demo model, a small one). */
export function hugePagesForModel(
  choice: HugePagesChoice,
  modelDir: string | undefined,
  platform: NodeJS.Platform = process.platform,
  memoryBytes: number = memoryLimitBytes(),
): boolean {
  if (choice !== "auto") return hugePagesFor(choice, undefined, platform);
  const parameters = modelDir === undefined ? undefined : configParameters(modelDir);
  return hugePagesFor(choice, parameters, platform, memoryBytes);
}

/** Whether this process was started with glibc's huge-pages tunable set (to any value). */
export function hugePagesTunableSet(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.GLIBC_TUNABLES ?? "").split(":").some((t) => t.startsWith("glibc.malloc.hugetlb="));
}
