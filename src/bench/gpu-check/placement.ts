// Which nodes of the graph onnxruntime places on the provider and which fall back to the CPU
// (a GPU graph with CPU nodes copies tensors back and forth every step): read from the
// "Node placements" lines of onnxruntime's verbose log while a child process opens the graph.
import { spawnSync } from "node:child_process";

export interface Placement {
  /** Per execution provider: its node count and, for the CPU, the node types placed there. */
  providers: Record<string, { nodes: number; op_types?: Record<string, number> }>;
  note?: string;
}

/** Opens `modelPath` on `provider` in a child (`bundle placement …`) and summarises its placements. */
export function placementOf(bundle: string, modelPath: string, provider: string): Placement {
  const r = spawnSync(process.execPath, [bundle, "placement", modelPath, provider], {
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const placement = parsePlacements(`${r.stdout}\n${r.stderr}`);
  if (r.status !== 0)
    placement.note = `opening the graph failed (${r.status ?? r.signal}): ${
      r.stderr
        .split("\n")
        .find((l) => /error/i.test(l))
        ?.slice(0, 300) ?? ""
    }`;
  return placement;
}

export function parsePlacements(log: string): Placement {
  const out: Placement = { providers: {} };
  let current: { nodes: number; op_types?: Record<string, number> } | undefined;
  let currentName = "";
  for (const line of log.split("\n")) {
    const m = line.match(/VerifyEachNodeIsAssignedToAnEp\]\s(.*)$/);
    if (!m) continue;
    const text = m[1]!;
    const head = text.match(/placed on \[(\w+)\]\. Number of nodes: (\d+)/);
    if (head) {
      currentName = head[1]!;
      current = { nodes: Number(head[2]) };
      out.providers[currentName] = current;
      continue;
    }
    const op = text.match(/^\s{2,}(\S+) \(/);
    if (op && current && currentName.startsWith("CPU")) {
      current.op_types ??= {};
      current.op_types[op[1]!] = (current.op_types[op[1]!] ?? 0) + 1;
    }
  }
  if (Object.keys(out.providers).length === 0) out.note = "onnxruntime logged no node placements";
  return out;
}
