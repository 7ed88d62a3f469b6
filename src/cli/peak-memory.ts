// `bench`'s peak memory (Linux): the kernel's high-water mark of this process's resident memory
// (VmHWM), reset once the model is loaded, so that converting the model in the same run (whose
// peak is the converter's, not the model's) does not count. It is the figure the README's
// memory goals are about: what running the model holds at its most.
import { writeFileSync } from "node:fs";
import { ownProcFieldMiB, procFieldMiB } from "../files/proc-memory";

/** Resets this process's VmHWM to its current resident memory (Linux 4.0+); false where it cannot. */
export function resetPeakMemory(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/** The VmHWM line of a /proc/PID/status text, in MiB; undefined when absent. */
export function vmHwmMiB(status: string): number | undefined {
  return procFieldMiB(status, "VmHWM");
}

/** This process's VmHWM in MiB; undefined off Linux or when unreadable. */
export function ownPeakMemoryMiB(): number | undefined {
  return ownProcFieldMiB("status", "VmHWM");
}
