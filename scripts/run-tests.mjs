// Runs every test/**/*.test.ts with node's own test runner (TypeScript through tsx).
//
// Before: installs what the selected tests need and can be installed, as root, with the
// end-to-end setup's apt-get helpers: Debian's Chromium for the webview page tests, and
// python3-sentencepiece, the reference tokenizer of the tokenizer tests (CI fails on their skip).
// After: the counts and every skipped test with its reason, from the runner's TAP output
// (test-output/unit-tests.tap), closing with "unit: N passed, N failed, N skipped". In CI
// ($CI set, as .ci/run does), a skip not listed in ALLOWED_SKIPS fails the run: a test that
// silently stopped running would hide a regression.
//
//   node scripts/run-tests.mjs [substring ...]
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";

/** Skips that are right even in CI, each with why. */
const ALLOWED_SKIPS = [
  {
    reason: /MONET_TEST_1_4B=1/,
    why: "opt-in: the 1.4B-shape checkpoint (2.9 GB) is written only when asked",
  },
  {
    reason: /mounting a tmpfs is not permitted/,
    why: "needs the right to mount; the injected disk-full and read-only failures test the same code",
  },
];

const CI = !!process.env.CI && process.env.CI !== "0" && process.env.CI !== "false";
const TAP = join("test-output", "unit-tests.tap");

function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith(".test.ts") ? [p] : [];
  });
}

/** Python's sentencepiece from Debian (what /usr/bin/python3 imports), and its package. */
const SENTENCEPIECE = ["/usr/lib/python3/dist-packages/sentencepiece/__init__.py", "python3-sentencepiece"];

/**
 * Debian's Chromium for the tests that drive it (they call the page harness's chromiumAvailable),
 * and python3-sentencepiece for those that compare against it.
 */
async function installNeeds(files) {
  const texts = files.map((f) => readFileSync(f, "utf8"));
  const needs = [];
  if (texts.some((t) => t.includes("chromiumAvailable")))
    needs.push({ what: "the webview page tests", install: (setup) => setup.ensureDebianPackages(false) });
  if (texts.some((t) => t.includes(SENTENCEPIECE[1])))
    needs.push({
      what: "the sentencepiece comparisons",
      install: (setup) => setup.ensureDebianFiles([SENTENCEPIECE]),
    });
  if (needs.length === 0) return;
  const setup = await tsImport("../test/e2e/setup.ts", import.meta.url);
  for (const { what, install } of needs) {
    try {
      install(setup);
    } catch (e) {
      if (CI) {
        process.stderr.write(`error: ${e.message} (in CI ${what} must run)\n`);
        process.exit(1);
      }
      process.stderr.write(`note: ${e.message}; ${what} will be skipped\n`);
    }
  }
}

/** Counts and skips from node's TAP output. */
function summary(tap) {
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, "m").exec(tap)?.[1] ?? Number.NaN);
  const skips = [...tap.matchAll(/^\s*ok \d+ - (.*?) # SKIP ?(.*)$/gm)].map((m) => ({
    name: m[1].replace(/\\#/g, "#"),
    reason: m[2],
  }));
  return {
    tests: count("tests"),
    pass: count("pass"),
    fail: count("fail"),
    skipped: count("skipped"),
    skips,
  };
}

const filter = process.argv.slice(2);
const files = find("test")
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
await installNeeds(files);
mkdirSync("test-output", { recursive: true });
const t0 = Date.now();
const r = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=1",
    `--test-reporter=${process.stdout.isTTY ? "spec" : "tap"}`,
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${TAP}`,
    ...files,
  ],
  { stdio: "inherit" },
);
const wall = (Date.now() - t0) / 1000;
const s = summary(readFileSync(TAP, "utf8"));
let status = r.status ?? 1;
const unexpected = s.skips.filter((k) => !ALLOWED_SKIPS.some((a) => a.reason.test(k.reason)));
for (const k of s.skips) {
  const allowed = ALLOWED_SKIPS.find((a) => a.reason.test(k.reason));
  process.stdout.write(
    `skipped: ${k.name}: ${k.reason}${allowed ? ` (${allowed.why})` : CI ? " — not allowed in CI" : ""}\n`,
  );
}
if (CI && unexpected.length) {
  process.stdout.write(`${unexpected.length} test(s) skipped in CI that must run (see above)\n`);
  status ||= 1;
}
process.stdout.write(
  `unit tests: ${s.tests} in ${files.length} files, ${Math.floor(Math.round(wall) / 60)} min ${Math.round(wall) % 60} s\n` +
    `unit: ${s.pass} passed, ${s.fail + (CI ? unexpected.length : 0)} failed, ${s.skipped} skipped\n`,
);
process.exit(status);
