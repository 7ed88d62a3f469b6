// The atlas commands as a user runs them (through tsx from src/, so no build is needed):
// route --json's contract, --mask on generate, clear errors, atlas build/eval end to end.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SHARED } from "../helpers/fixtures";
import { runCli } from "../helpers/cli";

const SHIPPED = join(process.cwd(), "models", "atlases", "tiny-codemonet.atlas.json");
const CORPUS = join(SHARED, "corpus");

const run = runCli;

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
    assert.equal(json.version, 2);
    assert.deepEqual(json.controls, ["plaintext"]);
    assert.equal(json.quality.level, "ok", JSON.stringify(json.quality));
    assert.equal(json.stats.file, "tiny-codemonet.atlas.experts.bin");
    const stats = join(SHIPPED, "..", json.stats.file);
    assert.equal(statSync(stats).size, json.stats.bytes, "the expert statistics ship beside it");
  });

  it("route --json gives the heatmap's fields per token, with the shipped atlas by default", () => {
    const text = "local function add(a, b)\n  return a + b\nend\n";
    const r = run("route", "--text", text, "--json");
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(json), [
      "model",
      "atlas",
      "languages",
      "controls",
      "baseline",
      "controlBaseline",
      "groupBaseline",
      "groupControlBaseline",
      "dominance",
      "masked",
      "groups",
      "tokens",
      "summary",
    ]);
    assert.equal(json.atlas, SHIPPED);
    assert.equal(json.groups, 2);
    assert.deepEqual(json.masked, []);
    assert.equal(json.languages.length, 11);
    assert.deepEqual(json.controls, ["plaintext"]);
    assert.equal(json.baseline.length, 11);
    assert.ok(
      json.baseline.every((b: number) => b > 0.005 && b < 0.1),
      `baselines ${json.baseline}`,
    );
    assert.match(json.dominance.text, /lift/);
    for (const t of json.tokens) {
      assert.deepEqual(Object.keys(t), [
        "id",
        "text",
        "piece",
        "span",
        "shares",
        "groupShares",
        "controlShares",
        "groupControlShares",
        "unowned",
        "groupUnowned",
        "lift",
        "controlLift",
        "dominant",
        "top",
      ]);
      assert.equal(text.slice(t.span[0], t.span[1]), t.text);
      assert.equal(t.shares.length, 11);
      assert.equal(t.groupShares.length, 2);
      assert.equal(t.lift.length, 11);
      const total = t.shares.reduce((a: number, b: number) => a + b, 0) + t.controlShares[0] + t.unowned;
      assert.ok(Math.abs(total - 1) < 1e-5, `shares + prose + unowned = ${total}`);
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
    assert.equal(json.summary.tokens, json.tokens.length);
    assert.equal(json.summary.dominant, "lua", `summary ${JSON.stringify(json.summary)}`);
    const masked = JSON.parse(run("route", "--text", text, "--json", "--mask", "lua").stdout);
    assert.deepEqual(masked.masked, ["lua"]);
    assert.ok(masked.tokens.every((t: { shares: number[] }) => t.shares[lua] === 0));
    assert.notEqual(masked.summary.dominant, "lua");
    const plain = run("route", "--text", text);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /values: lift/);
    assert.match(plain.stdout, /selection \(\d+ tokens\): .*lua [\d.]+ % \(×[\d.]+\).*; dominant: lua/);
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
      /either --mask LANG,\.\.\. \/ --steer LANG=S,\.\.\. or --mask-file FILE/,
    );
  });

  it("generate --steer LANG=S scales the atlas's experts (0 is --mask), and refuses bad scales before any work", () => {
    const prompt = "local function greet(name)\n";
    const gen = (...opts: string[]) => {
      const r = run("generate", "--prompt", prompt, "--max-tokens", "12", "--json", ...opts);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const plain = gen();
    const viaMask = gen("--mask", "lua");
    const viaSteer = gen("--steer", "lua=0");
    assert.deepEqual(viaSteer.ids, viaMask.ids, "--steer lua=0 is --mask lua");
    assert.equal(viaSteer.steering, "−lua");
    const unchanged = gen("--steer", "lua=1");
    assert.deepEqual(unchanged.ids, plain.ids, "scale 1 changes nothing");
    assert.equal(unchanged.steering, "");
    const both = gen("--mask", "python", "--steer", "lua=1.5");
    assert.equal(both.steering, "lua×1.5, −python");
    assert.equal(both.masked, "lua×1.5, −python");
    assertCleanError(
      run("generate", "--prompt", "x", "--steer", "lua=-1"),
      /lua=-1: a scale cannot be negative/,
    );
    assertCleanError(
      run("generate", "--prompt", "x", "--steer", "lua=NaN"),
      /lua=NaN: the scale must be a finite number/,
    );
    assertCleanError(
      run("generate", "--prompt", "x", "--steer", "cobol=2"),
      /no experts for cobol; its languages are c,/,
    );
    assertCleanError(run("route", "--text", "x", "--steer", "lua"), /"lua" is not LANG=SCALE/);
    assertCleanError(
      run("generate", "--prompt", "x", "--steer", "lua=2", "--mask-file", join(dir, "m.json")),
      /or --mask-file FILE, not both/,
    );
    const routed = JSON.parse(run("route", "--text", prompt, "--json", "--steer", "lua=0,php=2").stdout);
    assert.deepEqual(routed.masked, ["lua"], "route's masked languages are the scale-0 ones");
    assertCleanError(run("bench", "--compare"), /--compare needs --steer/);
  });

  it("atlas eval --steer-sweep: a language's loss at each scale of its own experts; ×0 is the masked loss, ×1 the plain one", () => {
    const common = ["--corpus", CORPUS, "--languages", "lua", "--max-tokens-per-language", "64", "--json"];
    const svg = join(dir, "sweep.svg");
    const r = run("atlas", "eval", ...common, "--steer-sweep", "0,1,2", "--svg", svg);
    assert.equal(r.code, 0, r.stderr);
    const sweep = JSON.parse(r.stdout);
    assert.deepEqual(sweep.scales, [0, 1, 2]);
    assert.deepEqual(sweep.languages, ["lua"]);
    const [atZero, atOne, atTwo] = sweep.ce.lua as number[];
    assert.equal(atOne, sweep.none.lua);
    assert.notEqual(atTwo, atOne, "amplifying changes the loss");
    const masked = JSON.parse(run("atlas", "eval", ...common, "--mask", "lua").stdout);
    assert.equal(masked.none.lua, atOne, "the same held-out windows");
    assert.equal(masked.masked.lua.lua, atZero, "scale 0 is the mask");
    const steered = JSON.parse(run("atlas", "eval", ...common, "--steer", "lua=2").stdout);
    assert.deepEqual(steered.scales, { lua: 2 });
    assert.equal(steered.masked.lua.lua, atTwo, "--steer lua=2 is the sweep's ×2");
    assert.match(readFileSync(svg, "utf8"), /<title>lua ×2: [+−-]\d\.\d\d \(CE \d\.\d{3}\)<\/title>/);
    assertCleanError(run("atlas", "eval", ...common, "--steer-sweep", "0,-1"), /"-1" is not a scale/);
    assertCleanError(
      run("atlas", "eval", ...common, "--steer-sweep", "0,1", "--mask", "lua"),
      /leave out --mask and --steer/,
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
    assert.match(
      b.stdout,
      /wrote .*small\.atlas\.json and small\.atlas\.experts\.bin .*2 languages and control class plaintext/,
    );
    assert.match(
      b.stdout,
      /lua +\d+ tokens from \d+ files?; experts per group: .*baseline [\d.]+ % — few tokens/,
    );
    assert.match(b.stderr, /LOW QUALITY atlas/);
    assert.deepEqual(readdirSync(join(dir, "built")).sort(), ["small.atlas.experts.bin", "small.atlas.json"]);
    const strict = join(dir, "strict", "s.atlas.json");
    const s = run(
      "atlas",
      "build",
      "--corpus",
      CORPUS,
      "--out",
      strict,
      "--languages",
      "lua,php",
      "--max-tokens-per-language",
      "300",
      "--min-tokens",
      "100",
      "--contexts",
      "0",
      "--strict",
      "--quiet",
    );
    assertCleanError(
      s,
      /low quality, so nothing was written \(--strict\):\n {2}lua: few tokens \(\d+ < 4,096\)/,
    );
    assert.ok(!existsSync(strict));
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
    assert.deepEqual(Object.keys(json), ["none", "masked", "scales", "passed", "failed"]);
    assert.deepEqual(json.scales, { lua: 0, php: 0 });
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

  it("experts and expert: a language's strongest experts, and an expert's card with contexts from the corpus or the user's files", () => {
    const atlas = join(dir, "built", "small.atlas.json");
    const e = run("experts", "--atlas", atlas, "--language", "lua", "--top", "3", "--json");
    assert.equal(e.code, 0, e.stderr);
    const ranked = JSON.parse(e.stdout);
    assert.equal(ranked.by, "score");
    assert.equal(ranked.experts.length, 3);
    assert.ok(ranked.experts[0].mean >= ranked.experts[1].mean);
    const id = ranked.experts[0].expert as string;
    assert.match(id, /^g\d:\d+:\d+$/);
    const text = run("experts", "--atlas", atlas, "--language", "lua", "--top", "2", "--by", "lift");
    assert.match(text.stdout, /lua's strongest experts by lift/);
    const c = run("expert", id, "--atlas", atlas, "--json");
    assert.equal(c.code, 0, c.stderr);
    const card = JSON.parse(c.stdout);
    assert.equal(card.expert, id);
    assert.deepEqual(card.owner, { id: "lua", kind: "language" });
    assert.deepEqual(card.classes.map((k: { id: string }) => k.id).sort(), ["lua", "php", "plaintext"]);
    assert.equal(card.classes[0].id, "lua");
    assert.ok(card.corpus.contexts.length >= 1, JSON.stringify(card.corpus));
    assert.ok(
      card.corpus.contexts.every((s: { path: string }) => s.path.startsWith("lua/") || s.path.includes("/")),
    );
    const shown = run("expert", id, "--atlas", atlas, "--no-color");
    assert.match(shown.stdout, new RegExp(`expert ${id} .*labelled lua`));
    assert.match(shown.stdout, /top contexts in the atlas corpus/);
    assert.match(shown.stdout, /\[[^\]]+\]/, "the token is bracketed");
    const away = run("expert", id, "--atlas", atlas, "--corpus", join(dir, "no-corpus"), "--no-color");
    assert.match(away.stdout, /the atlas corpus is not available here/);
    assert.match(away.stdout, /--from FILE\|DIR/);
    const mine = join(dir, "mine.lua");
    writeFileSync(
      mine,
      readFileSync(join(CORPUS, "lua", readdirSync(join(CORPUS, "lua"))[0]!), "utf8").slice(0, 2000),
    );
    const own = run("expert", id, "--atlas", atlas, "--from", mine, "--json", "--max-tokens", "400");
    assert.equal(own.code, 0, own.stderr);
    const ownCard = JSON.parse(own.stdout);
    assert.ok(ownCard.fromFiles.tokens > 0 && ownCard.fromFiles.files === 1);
    assertCleanError(run("expert", "g9:1:1", "--atlas", atlas), /no expert g9:1:1 in this model/);
    assertCleanError(run("experts", "--atlas", atlas, "--language", "cobol"), /no class cobol/);
    assertCleanError(run("experts", "--atlas", atlas), /experts needs --language LANG/);
  });

  it("a workspace of three small files: the build refuses, with the counts", () => {
    const ws = join(dir, "ws");
    for (const [lang, ext] of [
      ["python", "py"],
      ["lua", "lua"],
      ["c", "c"],
    ]) {
      const name = readdirSync(join(CORPUS, lang!))[0]!;
      mkdirSync(ws, { recursive: true });
      writeFileSync(join(ws, `a.${ext}`), readFileSync(join(CORPUS, lang!, name), "utf8").slice(0, 1500));
    }
    const r = run("atlas", "build", "--corpus", ws, "--out", join(dir, "ws.atlas.json"), "--quiet");
    assertCleanError(
      r,
      /no language has --min-tokens 1024 training tokens \(tokens per class: c \d+, lua \d+, python \d+\); an atlas compares at least two classes/,
    );
    assert.ok(!existsSync(join(dir, "ws.atlas.json")));
  });
});
