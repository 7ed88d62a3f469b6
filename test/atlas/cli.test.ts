// The atlas commands as a user runs them (through tsx from src/, so no build is needed):
// route --json's contract, --mask on generate, clear errors, atlas build/eval end to end.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED, TEST_CACHE } from "../helpers/fixtures";

const MAIN = join(process.cwd(), "src", "cli", "main.ts");
const SHIPPED = join(process.cwd(), "models", "atlases", "tiny-codemonet.atlas.json");
const CORPUS = join(SHARED, "corpus");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, MONET_LENS_CACHE: TEST_CACHE },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertCleanError(r: ReturnType<typeof run>, pattern: RegExp) {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
}

describe("atlas command line", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "atlas-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ships an atlas for the demo model", () => {
    assert.ok(existsSync(SHIPPED), `${SHIPPED} is missing`);
    const json = JSON.parse(readFileSync(SHIPPED, "utf8"));
    assert.equal(json.format, "monet-lens-atlas");
    assert.equal(json.model.name, "tiny-codemonet");
    assert.deepEqual(json.languages, [
      "c",
      "cpp",
      "go",
      "java",
      "javascript",
      "lua",
      "php",
      "python",
      "ruby",
      "rust",
      "typescript",
    ]);
    assert.ok(readFileSync(SHIPPED).length < 1 << 20, "under 1 MB");
  });

  it("route --json gives the heatmap's fields per token, with the shipped atlas by default", () => {
    const text = "local function add(a, b)\n  return a + b\nend\n";
    const r = run("route", "--text", text, "--json");
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(json), ["model", "atlas", "languages", "masked", "groups", "tokens"]);
    assert.equal(json.atlas, SHIPPED);
    assert.equal(json.groups, 2);
    assert.deepEqual(json.masked, []);
    assert.equal(json.languages.length, 11);
    for (const t of json.tokens) {
      assert.deepEqual(Object.keys(t), [
        "id",
        "text",
        "piece",
        "span",
        "shares",
        "groupShares",
        "dominant",
        "top",
      ]);
      assert.equal(text.slice(t.span[0], t.span[1]), t.text);
      assert.equal(t.shares.length, 11);
      assert.equal(t.groupShares.length, 2);
      assert.ok(t.top.length === 6 && t.top.every((e: unknown[]) => e.length === 6));
    }
    assert.equal(
      json.tokens.map((t: { text: string }) => t.text).join(""),
      text,
      "the spans tile the text (BOS left out)",
    );
    const lua = json.languages.indexOf("lua");
    const mean = (l: number) =>
      json.tokens.reduce((s: number, t: { shares: number[] }) => s + t.shares[l]!, 0) / json.tokens.length;
    assert.ok(
      json.languages.every((_: string, l: number) => l === lua || mean(l) < mean(lua)),
      "Lua code routes most to Lua's experts",
    );
    const masked = JSON.parse(run("route", "--text", text, "--json", "--mask", "lua").stdout);
    assert.deepEqual(masked.masked, ["lua"]);
    assert.ok(masked.tokens.every((t: { shares: number[] }) => t.shares[lua] === 0));
  });

  it("generate --mask LANG applies the atlas's experts, and refuses unknown languages and other models' atlases", () => {
    const prompt = "local function greet(name)\n";
    const plain = JSON.parse(run("generate", "--prompt", prompt, "--max-tokens", "12", "--json").stdout);
    const r = run("generate", "--prompt", prompt, "--max-tokens", "12", "--json", "--mask", "lua");
    assert.equal(r.code, 0, r.stderr);
    const masked = JSON.parse(r.stdout);
    assert.equal(masked.masked, "lua");
    assert.notDeepEqual(masked.ids, plain.ids, "masking Lua's experts changes a Lua completion");
    assertCleanError(
      run("generate", "--prompt", "x", "--mask", "cobol"),
      /no experts for cobol; its languages are c, cpp, go/,
    );
    const other = JSON.parse(readFileSync(SHIPPED, "utf8"));
    other.model.fingerprint = "0".repeat(64);
    other.model.name = "some-other-model";
    writeFileSync(join(dir, "other.atlas.json"), JSON.stringify(other));
    assertCleanError(
      run("generate", "--prompt", "x", "--mask", "lua", "--atlas", join(dir, "other.atlas.json")),
      /was built for the model "some-other-model".*not for the model being run, "tiny-codemonet"/,
    );
    writeFileSync(join(dir, "broken.atlas.json"), '{"format": "monet-lens-atlas", ');
    assertCleanError(
      run("generate", "--prompt", "x", "--mask", "lua", "--atlas", join(dir, "broken.atlas.json")),
      /damaged/,
    );
    assertCleanError(
      run("generate", "--prompt", "x", "--mask", "lua", "--mask-file", join(dir, "m.json")),
      /either --mask LANG,\.\.\. or --mask-file FILE/,
    );
  });

  it("atlas build and atlas eval run end to end on a small budget", () => {
    const out = join(dir, "built", "small.atlas.json");
    const b = run(
      "atlas",
      "build",
      "--corpus",
      CORPUS,
      "--out",
      out,
      "--languages",
      "lua,php",
      "--max-tokens-per-language",
      "300",
      "--min-tokens",
      "100",
      "--quiet",
    );
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /wrote .*small\.atlas\.json.*2 languages/);
    assert.deepEqual(readdirSync(join(dir, "built")), ["small.atlas.json"]);
    const e = run(
      "atlas",
      "eval",
      "--atlas",
      out,
      "--corpus",
      CORPUS,
      "--languages",
      "lua,php",
      "--max-tokens-per-language",
      "64",
      "--json",
      "--svg",
      join(dir, "m.svg"),
    );
    assert.equal(e.code, 0, e.stderr);
    const json = JSON.parse(e.stdout);
    assert.deepEqual(Object.keys(json), ["none", "masked"]);
    assert.deepEqual(Object.keys(json.none), ["lua", "php"]);
    assert.deepEqual(Object.keys(json.masked), ["lua", "php"]);
    assert.ok(
      Object.values(json.masked.lua as Record<string, number>).every((x) => Number.isFinite(x) && x > 0),
    );
    assert.match(readFileSync(join(dir, "m.svg"), "utf8"), /^<svg/);
    assertCleanError(run("atlas", "build", "--out", out), /atlas build needs --corpus DIR/);
    assertCleanError(run("atlas", "frobnicate"), /unknown atlas command "frobnicate"/);
    assertCleanError(
      run("atlas", "build", "--corpus", join(dir, "nope"), "--out", out),
      /the corpus folder does not exist/,
    );
  });
});
