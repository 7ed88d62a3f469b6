// `bench` reports how much of its memory sits in transparent huge pages (README, "Huge pages"),
// and glibc's tunable really gives the engine's allocations huge pages on a kernel that hands
// them out on request.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { CODEMONET_VD_1_4B_CONFIG } from "../../src/checkpoint/published-configs";
import {
  anonHugePagesMiB,
  configParameters,
  HUGE_PAGES_TUNABLE,
  hugePagesFor,
  memoryLimitBytes,
  hugePagesForModel,
  hugePagesTunableSet,
  ownAnonHugePagesMiB,
  withHugePages,
} from "../../src/engine/huge-pages";
import { CLI_MAIN } from "../helpers/cli";
import { transparentHugePagesMode } from "../helpers/processes";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";

const thpMode = transparentHugePagesMode();
/** Tests of memory that ends up in huge pages run where the kernel hands them out. */
const needsHugePages =
  thpMode === "always" || thpMode === "madvise" ? false : `transparent huge pages: ${thpMode ?? "absent"}`;

function benchJson(
  env: Record<string, string>,
  args: string[] = [],
): {
  anon_huge_pages_mib?: number;
  decode_tokens_per_s: number;
} {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      CLI_MAIN,
      "bench",
      "--ep",
      "cpu",
      "--prefill",
      "16",
      "--new-tokens",
      "4",
      "--json",
      ...args,
    ],
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

  it("auto: on for models over 1 GiB of float32 weights (sized from config.json), off for small ones; Linux only, 8 GiB of memory or more", () => {
    const big = mkdtempSync(join(tmpdir(), "monet-hp-"));
    try {
      // A 1.4B folder's config alone decides (the weights are not read).
      writeFileSync(join(big, "config.json"), JSON.stringify(CODEMONET_VD_1_4B_CONFIG));
      const n = configParameters(big)!;
      assert.ok(n > 1.3e9 && n < 1.5e9, `1.4B parameters from its config: ${n}`);
      const demo = configParameters(DEMO_MODEL)!;
      assert.ok(demo > 30e6 && demo < 50e6, `the demo model's: ${demo}`);
      const GiB = 2 ** 30;
      assert.equal(hugePagesForModel("auto", big, "linux", 16 * GiB), true);
      assert.equal(hugePagesForModel("auto", DEMO_MODEL, "linux", 16 * GiB), false);
      assert.equal(hugePagesForModel("auto", undefined, "linux", 16 * GiB), false, "the embedded model");
      assert.equal(hugePagesForModel("auto", big, "darwin", 16 * GiB), false);
      // Tight memory (a 4 GiB laptop, a 2 GB container): not worth the memory they hold.
      assert.equal(hugePagesForModel("auto", big, "linux", 4 * GiB), false);
      assert.equal(hugePagesFor("auto", 2 ** 31, "linux", 8 * GiB), true);
      assert.equal(hugePagesFor("auto", 2 ** 31, "linux", 8 * GiB - 1), false);
      assert.equal(hugePagesForModel("on", big, "linux", 2 * GiB), true, "on is on whatever the memory");
      assert.equal(hugePagesForModel("off", big, "linux"), false);
      assert.equal(hugePagesForModel("on", DEMO_MODEL, "linux"), true);
      assert.equal(hugePagesForModel("on", DEMO_MODEL, "win32"), false);
      // No readable config: no size, so auto stays off (the engine reports the folder's problem).
      assert.equal(configParameters(join(big, "missing")), undefined);
      assert.equal(hugePagesForModel("auto", join(big, "missing"), "linux", 16 * GiB), false);
      // The boundary: 2^28 weights are 1 GiB of float32.
      assert.equal(hugePagesFor("auto", 2 ** 28, "linux", 16 * GiB), false);
      assert.equal(hugePagesFor("auto", 2 ** 28 + 1, "linux", 16 * GiB), true);
    } finally {
      rmSync(big, { recursive: true, force: true });
    }
  });

  it("reads the memory it may use: the machine's, or a lower limit", () => {
    const limit = memoryLimitBytes();
    assert.ok(limit > 0 && limit <= totalmem(), `${limit} of ${totalmem()}`);
  });

  it("tells whether the tunable is set", () => {
    assert.equal(hugePagesTunableSet({}), false);
    assert.equal(hugePagesTunableSet({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }), false);
    assert.equal(
      hugePagesTunableSet({ GLIBC_TUNABLES: `glibc.malloc.arena_max=2:${HUGE_PAGES_TUNABLE}` }),
      true,
    );
    assert.equal(hugePagesTunableSet({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }), true);
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
    skip: needsHugePages,
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

  it("the command line's --huge-pages on starts itself again with the tunable; off and auto (a small model) do not", {
    skip: needsHugePages,
  }, () => {
    const on = benchJson({ GLIBC_TUNABLES: "" }, ["--huge-pages", "on"]);
    assert.ok(
      (on.anon_huge_pages_mib ?? 0) >= 64,
      `huge pages with --huge-pages on: ${on.anon_huge_pages_mib}`,
    );
    if (thpMode === "madvise") {
      for (const choice of ["off", "auto"]) {
        const off = benchJson({ GLIBC_TUNABLES: "" }, ["--huge-pages", choice]);
        assert.ok(
          (off.anon_huge_pages_mib ?? -1) < 16,
          `huge pages with --huge-pages ${choice}: ${off.anon_huge_pages_mib}`,
        );
      }
    }
  });

  it("a relaunched command's failure is said once and its exit status passed on", {
    skip: process.platform === "linux" ? false : "huge pages are asked for on Linux only",
  }, () => {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        CLI_MAIN,
        "generate",
        "--ep",
        "cpu",
        "--huge-pages",
        "on",
        "--prompt",
        "x = ",
        "--mask",
        "klingon",
      ],
      { encoding: "utf8", env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE, GLIBC_TUNABLES: "" } },
    );
    assert.equal(r.status, 1, r.stderr);
    const said = r.stderr.split("\n").filter((l) => l.startsWith("monet-lens generate:"));
    assert.equal(said.length, 1, r.stderr);
    assert.match(said[0]!, /klingon/);
  });

  it("an unknown --huge-pages is a usage error", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", CLI_MAIN, "bench", "--huge-pages", "yes"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--huge-pages must be one of auto, on, off, got "yes"/);
  });
});
