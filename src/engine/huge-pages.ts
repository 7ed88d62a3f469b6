// Transparent huge pages for the engine process (`monetLens.hugePages`; README, "Huge pages").
// Decoding streams through every weight once a token, and with 4 KiB pages that costs a TLB
// miss every 4 KiB (dearer still in a VM); where the kernel gives huge pages only on request
// (transparent_hugepage=madvise, as on Ubuntu and in many VMs) onnxruntime's allocations never
// get them. glibc's malloc asks for them when the process starts with the tunable below
// (glibc 2.35 and later; older glibc and other C libraries ignore it, as does every platform
// but Linux). Tunables are read at process start: the engine process gets it in its environment.
// `bench` reports how much of its memory ended up in huge pages.
import { readFileSync } from "node:fs";

/** The tunable that makes glibc's malloc madvise its large mappings for huge pages. */
export const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** `env` with the tunable added beside any others, unless it already sets glibc.malloc.hugetlb (the user's wins). */
export function withHugePages(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const tunables = env.GLIBC_TUNABLES ?? "";
  if (tunables.split(":").some((t) => t.startsWith("glibc.malloc.hugetlb="))) return env;
  return { ...env, GLIBC_TUNABLES: tunables ? `${tunables}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}

/** The AnonHugePages line of /proc/PID/smaps_rollup, in MiB; undefined when absent. */
export function anonHugePagesMiB(smapsRollup: string): number | undefined {
  const m = /^AnonHugePages:\s+(\d+) kB$/m.exec(smapsRollup);
  return m ? Math.round(Number(m[1]) / 1024) : undefined;
}

/** This process's anonymous memory in huge pages (MiB); undefined off Linux or when unreadable. */
export function ownAnonHugePagesMiB(): number | undefined {
  try {
    return anonHugePagesMiB(readFileSync("/proc/self/smaps_rollup", "utf8"));
  } catch {
    return undefined;
  }
}
