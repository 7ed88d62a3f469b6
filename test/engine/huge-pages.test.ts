// `bench` reports how much of its memory sits in transparent huge pages (README, "Huge pages"),
// and glibc's tunable really gives the engine's allocations huge pages on a kernel that hands
// them out on request.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import {
  anonHugePagesMiB,
  HUGE_PAGES_TUNABLE,
  ownAnonHugePagesMiB,
  withHugePages,
} from "../../src/engine/huge-pages";
import { CLI_MAIN } from "../helpers/cli";
import { transparentHugePagesMode } from "../helpers/processes";
import { TEST_CACHE } from "../helpers/fixtures";

const thpMode = transparentHugePagesMode();

function benchJson(env: Record<string, string>): {
  anon_huge_pages_mib?: number;
  decode_tokens_per_s: number;
} {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", CLI_MAIN, "bench", "--ep", "cpu", "--prefill", "16", "--new-tokens", "4", "--json"],
    { encoding: "utf8", env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE, ...env } },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe("huge pages", () => {
  it("adds glibc's tunable beside others, and keeps a hugetlb setting of the user's", () => {
    assert.equal(withHugePages({}).GLIBC_TUNABLES, HUGE_PAGES_TUNABLE);
    assert.equal(
      withHugePages({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES,
      `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}`,
    );
    const mine = { GLIBC_TUNABLES: "glibc.malloc.hugetlb=0", PATH: "/bin" };
    assert.deepEqual(withHugePages(mine), mine);
  });

  it("reads AnonHugePages from smaps_rollup in MiB, and nothing from text without it", () => {
    const rollup = [
      "55d0c0000000-7ffd6b1f5000 ---p 00000000 00:00 0                          [rollup]",
      "Rss:             1638400 kB",
      "AnonHugePages:   1323008 kB",
      "ShmemPmdMapped:        0 kB",
    ].join("\n");
    assert.equal(anonHugePagesMiB(rollup), 1292);
    assert.equal(anonHugePagesMiB("Rss: 10 kB\n"), undefined);
    if (process.platform === "linux") assert.ok((ownAnonHugePagesMiB() ?? -1) >= 0);
  });

  it("bench with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 holds the model in huge pages, and says so", {
    skip:
      thpMode === "always" || thpMode === "madvise"
        ? false
        : `transparent huge pages: ${thpMode ?? "absent"}`,
  }, () => {
    const on = benchJson({ GLIBC_TUNABLES: HUGE_PAGES_TUNABLE });
    assert.ok(on.decode_tokens_per_s > 0);
    // The demo model's float32 weights alone are 157 MiB.
    assert.ok((on.anon_huge_pages_mib ?? 0) >= 64, `huge pages with the tunable: ${on.anon_huge_pages_mib}`);
    if (thpMode === "madvise") {
      const off = benchJson({ GLIBC_TUNABLES: "" });
      assert.ok((off.anon_huge_pages_mib ?? -1) < 16, `huge pages without it: ${off.anon_huge_pages_mib}`);
    }
  });
});
