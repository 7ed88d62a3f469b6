// Runs every test/**/*.test.ts with node's own test runner (TypeScript through tsx).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}
const filter = process.argv.slice(2);
const files = find("test")
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
