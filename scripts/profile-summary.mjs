// Where a run's time goes, from onnxruntime's profile (`monet-lens bench --profile PREFIX`):
// per operator type, the mean time per run, the node count and the share of the run; then the
// heaviest nodes by output shape. An If node counts its own time, not its branch's nodes'.
//   node scripts/profile-summary.mjs TRACE.json [--runs decode|prefill|all] [--top N]
// decode (default): runs shorter than the median run (a bench's decoding steps far outnumber its
// prefills); prefill: the others; all: every run but the first (the session's warm-up).
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--"));
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
if (!file) {
  console.error("usage: node scripts/profile-summary.mjs TRACE.json [--runs decode|prefill|all] [--top N]");
  process.exit(2);
}
const which = opt("runs", "decode");
const top = Number(opt("top", "12"));
const events = JSON.parse(readFileSync(file, "utf8"));
const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").slice(1);
if (runs.length === 0)
  throw new Error(`${file}: no model_run events after the first (a profile of one run or none)`);
const median = [...runs].map((r) => r.dur).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
const chosen = runs.filter((r) => which === "all" || (which === "decode" ? r.dur <= median : r.dur > median));
if (chosen.length === 0) throw new Error(`${file}: no ${which} runs`);
const nodes = events
  .filter((e) => e.cat === "Node" && e.name.endsWith("_kernel_time"))
  .sort((a, b) => a.ts - b.ts);
const byOp = new Map();
const byShape = new Map();
let i = 0;
for (const r of [...chosen].sort((a, b) => a.ts - b.ts)) {
  const end = r.ts + r.dur;
  while (i < nodes.length && nodes[i].ts < r.ts) i++;
  // An If node's time includes its branch's nodes, which are events of their own: each node's
  // own time is its duration less that of the nodes inside it (the stack of open Ifs).
  const open = [];
  const own = [];
  for (let j = i; j < nodes.length && nodes[j].ts <= end; j++) {
    const n = nodes[j];
    while (open.length && n.ts >= open.at(-1).ts + open.at(-1).event.dur) open.pop();
    const entry = { event: n, ts: n.ts, self: n.dur };
    if (open.length) open.at(-1).self -= n.dur;
    own.push(entry);
    if ((n.args?.op_name ?? "") === "If") open.push(entry);
  }
  for (const { event: n, self } of own) {
    const op = n.args?.op_name ?? "?";
    const o = byOp.get(op) ?? { us: 0, count: 0 };
    o.us += self;
    o.count++;
    byOp.set(op, o);
    const key = `${op} ${JSON.stringify(n.args?.output_type_shape ?? "")}`;
    byShape.set(key, (byShape.get(key) ?? 0) + self);
  }
}
const runUs = chosen.reduce((s, r) => s + r.dur, 0) / chosen.length;
const per = (us) => us / chosen.length / 1000;
const nodeUs = [...byOp.values()].reduce((s, o) => s + o.us, 0) / chosen.length;
console.log(
  `${file}: ${chosen.length} ${which} runs of ${runs.length}, ${(runUs / 1000).toFixed(2)} ms per run, ${(nodeUs / 1000).toFixed(2)} ms of it in nodes`,
);
console.log("| operator | ms per run | nodes per run | share of the run |\n|---|---:|---:|---:|");
for (const [op, o] of [...byOp].sort((a, b) => b[1].us - a[1].us).slice(0, top))
  console.log(
    `| ${op} | ${per(o.us).toFixed(2)} | ${Math.round(o.count / chosen.length)} | ${((o.us / chosen.length / runUs) * 100).toFixed(1)} % |`,
  );
console.log("\nheaviest operator and output shape:");
for (const [key, us] of [...byShape].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`  ${per(us).toFixed(2)} ms  ${key}`);
