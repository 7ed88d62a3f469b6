// Expert cards in the routing view's page, in headless Debian Chromium, with data the real
// demo model and its shipped atlas give: a clicked token's experts open a card; the card's
// routing profile (d3 bars per class against the expert's mean over all tokens), corpus
// contexts with the token highlighted, contexts from the open file, the effect at the
// cursor, the switches and sets; the search box and a language's strongest experts. Every
// message the page posts passes the extension's validator; no script error, no CSP
// violation, nothing requested off the page's origin. Screenshots in test-output/expert-card/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { findAtlas } from "../../src/atlas/atlas-store";
import { expertCardData, expertListData } from "../../src/atlas/expert-card";
import { contextsFromFiles } from "../../src/atlas/expert-contexts";
import { effectAt } from "../../src/atlas/expert-effect";
import { parseExpertId } from "../../src/atlas/expert-id";
import { openExpertStats } from "../../src/atlas/expert-profile";
import { expertOwners, routeJson } from "../../src/atlas/route-shares";
import { engineEffectModel } from "../../src/cli/experts";
import { Engine } from "../../src/engine/engine";
import type {
  CardContext,
  ExpertCardData,
  ExpertEffect,
  ExpertListData,
} from "../../src/heatmap-shared/expert-card-data";
import { parseWebviewMessage, type SourceInfo } from "../../src/heatmap-shared/messages";
import type { RouteData } from "../../src/heatmap-shared/route-data";
import { DEMO_MODEL, SHARED, TEST_CACHE } from "../helpers/fixtures";
import {
  applyTheme,
  bundleWebview,
  CHROMIUM,
  chromiumAvailable,
  clearPosted,
  launch,
  openPage,
  pageErrors,
  posted,
  send,
  servePage,
  type PageServer,
} from "./page-harness";
import { THEMES } from "./themes";

const OUT = join(process.cwd(), "test-output", "expert-card");
const X = "g0:359:356";
const CODE =
  'def word_counts(path):\n    """Count the words of a file."""\n    counts = {}\n    return counts\n';
const PROMPT = 'def fibonacci(n):\n    """';
const SOURCE: SourceInfo = {
  file: "words.py",
  startLine: 1,
  endLine: 4,
  kind: "function",
  name: "word_counts",
};
const CURSOR: SourceInfo = { file: "fib.py", startLine: 2, endLine: 2, kind: "cursor" };
const skip = chromiumAvailable()
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium to run the page tests`;

interface CardFixtures {
  route: RouteData;
  card: ExpertCardData;
  list: ExpertListData;
  effect: ExpertEffect;
  own: { contexts: CardContext[]; tokens: number; files: number };
}

/** The demo model's data for the card: routing of CODE, the card of X, rust's strongest experts, X's effect. */
async function fixtures(): Promise<CardFixtures> {
  const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  try {
    const shipped = findAtlas(engine.identity, undefined, join(process.cwd(), "models", "atlases"));
    assert.ok(shipped, "the demo model has a shipped atlas");
    const { atlas, path } = shipped;
    const routed = await engine.route(CODE);
    const route = routeJson({
      model: engine.modelDir,
      atlasPath: path,
      text: CODE,
      routed,
      owners: expertOwners(atlas),
      topK: 3,
    });
    const stats = openExpertStats(path, atlas);
    try {
      const x = parseExpertId(X);
      const pyDir = join(SHARED, "corpus", "python");
      const own = await contextsFromFiles(engine, [pyDir], x, { top: 3, maxTokens: 1500 });
      return {
        route,
        card: expertCardData(path, atlas, stats, x),
        list: expertListData(atlas, stats, "rust", 10),
        effect: await effectAt(engineEffectModel(engine), PROMPT, x, { continuationTokens: 12 }),
        own: {
          contexts: own.contexts.map(({ span: _, ...c }) => ({
            ...c,
            path: c.path.slice(SHARED.length + 1),
          })),
          tokens: own.tokens,
          files: own.files,
        },
      };
    } finally {
      stats.close();
    }
  } finally {
    await engine.close();
  }
}

describe("expert cards in the routing view (headless Chromium, demo model data)", { skip }, () => {
  let data: CardFixtures;
  let server: PageServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    data = await fixtures();
    await bundleWebview(join(OUT, "bundle"));
    server = await servePage(join(OUT, "bundle"));
    browser = await launch();
    page = await openPage(browser, server, THEMES.dark, {
      width: 900,
      height: 1000,
    });
  });

  after(async () => {
    if (page) {
      for (const m of await posted(page))
        assert.ok(parseWebviewMessage(m).ok, `the page posted an invalid message: ${JSON.stringify(m)}`);
      assert.deepEqual(await pageErrors(page), [], "no script errors and no CSP violations");
    }
    await browser?.close();
    if (server) {
      await server.close();
      assert.ok(
        server.requests.every((p) =>
          ["/", "/media/heatmap.js", "/media/heatmap.css", "/favicon.ico"].includes(p),
        ),
        `only the page's own files: ${server.requests.join(", ")}`,
      );
    }
  });

  const lastPosted = async () => (await posted(page)).at(-1);

  it("a clicked token lists its experts; one click opens the expert's card in the EXPERT tab", async () => {
    await send(page, { type: "init", pinned: true, tab: "heatmap" });
    await send(page, { type: "route", seq: 1, data: data.route, source: SOURCE });
    const t = data.route.tokens.findIndex((k) => k.text.includes('"""'));
    assert.ok(t >= 0);
    assert.ok(
      data.route.tokens[t]!.top.some(([g, , i, j]) => `g${g}:${i}:${j}` === X),
      "the docstring quote routes to the docstring expert",
    );
    assert.equal(await page.locator("#hm-token-experts").isHidden(), true);
    await page.locator(`#hm-row-${t}`).click();
    const strip = page.locator("#hm-token-experts");
    assert.equal(await strip.isVisible(), true);
    assert.match((await strip.textContent()) ?? "", /Experts of/);
    const chip = strip.locator(`button[data-expert="${X}"]`);
    assert.match((await chip.textContent()) ?? "", /g0:359:356 · python/);
    await page.screenshot({ path: join(OUT, "token-experts.png") });
    await clearPosted(page);
    await chip.click();
    assert.deepEqual(await lastPosted(), { type: "openExpert", expert: X });
    assert.ok((await posted(page)).some((m) => m.type === "setTab" && m.tab === "expert"));
    assert.equal(await page.locator("#view-expert").isVisible(), true);
  });

  it("the card: profile bars per class against the mean over all tokens, corpus contexts with the token marked", async () => {
    await send(page, { type: "status", view: "expert", state: "idle", message: "" });
    await send(page, { type: "expertCard", seq: 1, card: data.card });
    assert.match(
      (await page.locator("#ex-source").textContent()) ?? "",
      /Expert g0:359:356 · tiny-codemonet/,
    );
    const bars = page.locator(".ex-chart g.ex-bar");
    assert.equal(await bars.count(), data.card.classes.length);
    assert.equal(await bars.first().getAttribute("data-class"), "python");
    assert.match((await bars.first().getAttribute("class")) ?? "", /owner/);
    const widths = await bars
      .locator("rect")
      .evaluateAll((rs) => rs.map((r) => Number(r.getAttribute("width"))));
    assert.ok(widths[0]! > 5 * widths[1]!, `python's bar stands out: ${widths.join(", ")}`);
    assert.equal(await page.locator(".ex-chart .ex-baseline line").count(), 1);
    assert.match((await page.locator(".ex-chart").getAttribute("aria-label")) ?? "", /python/);
    const marks = page.locator(".ex-contexts:not(.ex-own) mark.ex-token");
    assert.equal(await marks.count(), data.card.contexts.length);
    assert.equal(await marks.first().textContent(), data.card.contexts[0]!.token);
    await page.screenshot({ path: join(OUT, "card.png") });
    for (const theme of ["light", "hc"] as const) {
      await applyTheme(page, THEMES[theme]);
      await page.screenshot({ path: join(OUT, `card-${theme}.png`) });
    }
    await applyTheme(page, THEMES.dark);
  });

  it("its buttons post validated requests; contexts from the open file and the effect at the cursor are drawn", async () => {
    await clearPosted(page);
    await page.getByRole("button", { name: "Rank in the open file" }).click();
    assert.deepEqual(await lastPosted(), { type: "expertContexts", expert: X, from: "file" });
    await page.getByRole("button", { name: "Rank in the workspace" }).click();
    assert.deepEqual(await lastPosted(), { type: "expertContexts", expert: X, from: "workspace" });
    await send(page, { type: "expertContexts", expert: X, from: "workspace", ...data.own });
    assert.equal(await page.locator(".ex-own mark.ex-token").count(), data.own.contexts.length);
    assert.match((await page.locator(".ex-own").textContent()) ?? "", /in the workspace/);
    await page.locator(".ex-scale").fill("0.5");
    await page.locator(".ex-run-effect").click();
    assert.deepEqual(await lastPosted(), { type: "expertEffect", expert: X, scale: 0.5 });
    await page.locator(".ex-scale").fill("11");
    await page.locator(".ex-run-effect").click();
    assert.equal((await lastPosted())?.scale, 0.5, "an out-of-range scale is not sent");
    await send(page, { type: "expertEffect", expert: X, effect: data.effect, source: CURSOR });
    const effect = page.locator(".ex-effect");
    assert.match((await effect.textContent()) ?? "", /fib\.py, line 2: g0:359:356 alone switched off/);
    assert.match((await effect.textContent()) ?? "", /KL \d/);
    assert.equal(await effect.locator(".ex-change.up tr").count(), data.effect.up.length);
    assert.equal(await effect.locator(".ex-change.down tr").count(), data.effect.down.length);
    assert.equal(
      await effect.locator(".ex-cont pre").first().textContent(),
      data.effect.continuation!.before,
    );
    // An effect for another expert (a late answer) is not drawn on this card.
    await send(page, {
      type: "expertEffect",
      expert: "g1:1:1",
      effect: { ...data.effect, expert: "g1:1:1" },
      source: CURSOR,
    });
    assert.doesNotMatch((await effect.textContent()) ?? "", /g1:1:1/);
  });

  it("switches: mask, scale, reset, add to a named set, mask the set; the state the extension sends is shown", async () => {
    await clearPosted(page);
    await send(page, { type: "expertSwitches", switches: { scales: [], sets: [] } });
    await page.getByRole("button", { name: "Mask", exact: true }).click();
    assert.deepEqual(await lastPosted(), { type: "setExpertScale", expert: X, scale: 0 });
    await send(page, { type: "expertSwitches", switches: { scales: [[X, 0]], sets: [] } });
    assert.equal(await page.locator(".ex-switch-state").textContent(), "Masked in completions.");
    await page.locator(".ex-switch-scale").fill("1.5");
    await page.getByRole("button", { name: "Scale", exact: true }).click();
    assert.deepEqual(await lastPosted(), { type: "setExpertScale", expert: X, scale: 1.5 });
    await page.getByRole("button", { name: "Reset" }).click();
    assert.deepEqual(await lastPosted(), { type: "setExpertScale", expert: X, scale: 1 });
    await page.locator(".ex-set-name").fill("<b>bad</b>");
    await page.getByRole("button", { name: "Add to set" }).click();
    assert.equal((await lastPosted())?.type, "setExpertScale", "an invalid set name is not sent");
    await page.locator(".ex-set-name").fill("docstrings");
    await page.getByRole("button", { name: "Add to set" }).click();
    assert.deepEqual(await lastPosted(), { type: "addToExpertSet", expert: X, set: "docstrings" });
    await send(page, {
      type: "expertSwitches",
      switches: { scales: [[X, 0]], sets: [{ name: "docstrings", experts: [X, "g1:10:20"] }] },
    });
    await page.getByRole("button", { name: "Mask set" }).click();
    assert.deepEqual(await lastPosted(), { type: "applyExpertSet", set: "docstrings", scale: 0 });
    await page.locator("#ex-body").evaluate((b) => (b.scrollTop = 0));
    await page.screenshot({ path: join(OUT, "card-effect.png"), fullPage: false });
    await page.locator(".ex-effect").scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT, "card-effect-switches.png") });
    // The whole card at once (the README's picture: docs/expert-card.png).
    await page.setViewportSize({ width: 900, height: 1900 });
    await page.locator("#ex-body").evaluate((b) => (b.scrollTop = 0));
    await page.locator(".ex-scale").fill("0");
    const bottom = await page
      .locator("#ex-body > :last-child")
      .evaluate((e) => Math.ceil(e.getBoundingClientRect().bottom) + 12);
    await page.screenshot({
      path: join(OUT, "card-full.png"),
      clip: { x: 0, y: 0, width: 900, height: bottom },
    });
    await page.setViewportSize({ width: 900, height: 1000 });
  });

  it("search: an id or 'top experts of rust' posts findExperts; the list's experts open their cards", async () => {
    await clearPosted(page);
    await page.locator("#ex-query").fill("top experts of rust");
    await page.locator("#ex-query").press("Enter");
    assert.deepEqual(await lastPosted(), { type: "findExperts", query: "top experts of rust" });
    await send(page, { type: "expertList", seq: 2, list: data.list });
    const links = page.locator(".ex-table button.ex-link");
    assert.equal(await links.count(), data.list.experts.length);
    await page.screenshot({ path: join(OUT, "rust-experts.png") });
    await links.first().click();
    assert.deepEqual(await lastPosted(), { type: "openExpert", expert: data.list.experts[0]!.expert });
    // Text from files is text: a context that looks like markup is shown, not parsed.
    const hostile: ExpertCardData = {
      ...data.card,
      contexts: [
        { path: "x.py", line: 1, score: 1, before: "<img src=x onerror=alert(1)>", token: "<b>", after: "" },
      ],
    };
    await send(page, { type: "expertCard", seq: 3, card: hostile });
    assert.equal(await page.locator(".ex-contexts img, .ex-contexts b").count(), 0);
    assert.equal(await page.locator(".ex-contexts mark.ex-token").first().textContent(), "<b>");
  });
});
