// Memory figures of Linux's /proc files ("Name:   1234 kB" lines), in MiB.
import { readFileSync } from "node:fs";

/** The `field` line of a /proc text (status, smaps_rollup) in MiB; undefined when absent. */
export function procFieldMiB(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return m ? Math.round(Number(m[1]) / 1024) : undefined;
}

/** `field` of this process's /proc/self/`file`, in MiB; undefined off Linux or when unreadable. */
export function ownProcFieldMiB(file: "status" | "smaps_rollup", field: string): number | undefined {
  try {
    return procFieldMiB(readFileSync(`/proc/self/${file}`, "utf8"), field);
  } catch {
    return undefined;
  }
}
