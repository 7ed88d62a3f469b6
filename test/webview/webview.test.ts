// The routing view's page in headless Debian Chromium, fed with route data that the real
// engine produced on the demo model (demo-data.ts): the DOM (rows, columns, legend,
// summary, dominant language), tooltips on hover, the messages it posts (mask toggle, row
// selection, tabs, controls), the group toggle, its states, thousands of tokens, the A/B
// tab's divergence marks, and screenshots in light, dark and high-contrast themes under
// test-output/heatmap/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { diffContinuations } from "../../src/heatmap-shared/continuation";
import { parseWebviewMessage, type SourceInfo } from "../../src/heatmap-shared/messages";
import type { RouteData, RouteToken } from "../../src/heatmap-shared/route-data";
import { buildHeatView, dominantOf, percentLabel, visibleText } from "../../src/heatmap-shared/view-model";
import { demoData, type DemoData } from "./demo-data";
import {
  applyTheme,
  bundleWebview,
  CHROMIUM,
  chromiumAvailable,
  clearPosted,
  launch,
  openPage,
  OUT,
  pageErrors,
  posted,
  send,
  servePage,
  type PageServer,
} from "./page-harness";
import { THEMES, type WebviewTheme } from "./themes";

const SOURCE: SourceInfo = {
  file: "words.py",
  startLine: 1,
  endLine: 9,
  kind: "function",
  name: "word_counts",
};
const skip = chromiumAvailable()
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install ` +
    `chromium) to run the webview page tests`;

/** `n` tokens made from the demo route's, repeated with shifted spans. */
function manyTokens(data: RouteData, n: number): RouteData {
  const src = data.tokens;
  const width = src[src.length - 1]!.span[1];
  const tokens: RouteToken[] = Array.from({ length: n }, (_, k) => {
    const t = src[k % src.length]!;
    const shift = Math.floor(k / src.length) * width;
    return { ...t, span: [t.span[0] + shift, t.span[1] + shift] };
  });
  return { ...data, tokens };
}

describe("routing view page (headless Chromium, demo model data)", { skip }, () => {
  let data: DemoData;
  let server: PageServer;
  let browser: Browser;
  const pages: Page[] = [];
  const offOrigin: string[] = [];

  before(async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    data = await demoData();
    await bundleWebview(join(OUT, "bundle"));
    server = await servePage(join(OUT, "bundle"));
    browser = await launch();
  });

  after(async () => {
    for (const p of pages) {
      const sent = await posted(p);
      for (const m of sent)
        assert.ok(parseWebviewMessage(m).ok, `the page posted an invalid message: ${JSON.stringify(m)}`);
      assert.deepEqual(await pageErrors(p), [], "no script errors and no CSP violations");
    }
    await browser?.close();
    await server?.close();
    assert.deepEqual(offOrigin, [], "the page requested nothing outside the extension's origin");
  });

  async function open(
    theme: WebviewTheme = THEMES.dark,
    size?: { width: number; height: number },
  ): Promise<Page> {
    const page = await openPage(browser, server, theme, size);
    page.on("request", (r) => {
      if (!r.url().startsWith(server.origin)) offOrigin.push(r.url());
    });
    pages.push(page);
    return page;
  }

  async function loaded(
    theme?: WebviewTheme,
    route: RouteData = data.route,
    size?: { width: number; height: number },
  ): Promise<Page> {
    const page = await open(theme, size);
    await send(page, { type: "init", pinned: true, tab: "heatmap" });
    await send(page, {
      type: "masks",
      masked: [...route.masked],
      atlasLanguages: route.languages.length ? route.languages : null,
    });
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "computing",
      message: "Routing function word_counts (words.py, lines 1–9)…",
    });
    await send(page, { type: "route", seq: 1, data: route, source: SOURCE });
    await send(page, { type: "status", view: "heatmap", state: "idle", message: "" });
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(OUT, `${name}.png`) });

  it("loads under its CSP, says ready, and draws one row per token, one column per language, the legend, the summary and the dominant language", async () => {
    const page = await loaded();
    assert.deepEqual((await posted(page))[0], { type: "ready" });
    const route = data.route;
    const L = route.languages.length;
    assert.ok(L >= 2, `the atlas has languages (${data.atlasSource})`);
    assert.deepEqual(
      await page
        .locator("#hm-head button.col-lang")
        .evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.lang)),
      route.languages,
    );
    assert.equal(await page.locator("#hm-body").getAttribute("data-total-rows"), String(route.tokens.length));
    const rows = page.locator("#hm-body .row");
    const drawn = await rows.count();
    assert.ok(drawn > 10 && drawn <= route.tokens.length, `${drawn} rows drawn`);
    const view = buildHeatView(route, "all");
    for (let i = 0; i < Math.min(drawn, 20); i++) {
      const row = page.locator(`#hm-row-${i}`);
      const t = route.tokens[i]!;
      assert.equal(await row.locator(".c-token").innerText(), visibleText(t.text, 60));
      assert.equal(await row.locator(".cell").count(), L);
      assert.deepEqual(await row.locator(".cell").allInnerTexts(), t.shares.map(percentLabel));
      const dom = t.dominant === null ? "—" : t.dominant;
      assert.equal(
        (await row.locator(".c-dom").textContent())?.split(" ")[0],
        dom,
        `token ${i}'s dominant language`,
      );
      assert.equal(
        view.rows[i]!.dominant.language,
        t.dominant,
        "the view model agrees with route-shares on the dominant language",
      );
    }
    assert.deepEqual(
      await page.locator("#hm-summary .cell").allInnerTexts(),
      view.summary.values.map(percentLabel),
    );
    assert.match(
      await page.locator("#hm-summary").innerText(),
      new RegExp(`Mix of ${route.tokens.length} tokens`),
    );
    assert.equal(await page.locator("#hm-legend linearGradient stop").count(), 11);
    const ticks = await page.locator("#hm-legend .tick text").allTextContents();
    assert.ok(ticks.length >= 3 && ticks.every((t) => t.endsWith("%")), `legend ticks ${ticks.join(" ")}`);
    assert.match(await page.locator("#hm-legend-notes").innerText(), /mean of 2 routing groups/);
    assert.match(
      await page.locator("#hm-source").innerText(),
      /words\.py · lines 1–9 · function word_counts · \d+ tokens/,
    );
    assert.equal(await page.locator("#hm-status").isHidden(), true);
    await shot(page, "heatmap-dark");
  });

  it("hovering a cell shows the token, the language, its share and the token's top experts", async () => {
    const page = await loaded(THEMES.light);
    const i = data.route.tokens.findIndex((t) => t.dominant !== null && t.text.trim().length > 1);
    const t = data.route.tokens[i]!;
    const l = data.route.languages.indexOf(t.dominant!);
    await page.locator(`#hm-row-${i} .cell`).nth(l).hover();
    const tip = page.locator("#tooltip");
    await tip.waitFor({ state: "visible" });
    const text = await tip.innerText();
    assert.ok(text.includes(visibleText(t.text, 60)), `the tooltip names the token: ${text}`);
    assert.ok(
      text.includes(
        `${t.dominant}: ${(t.shares[l]! * 100).toFixed(t.shares[l]! < 0.1 ? 2 : 1)}% of the routing mass`,
      ),
      text,
    );
    assert.match(text, /group 0: [\d.]+% · group 1: [\d.]+%/);
    const cells = await tip
      .locator("tbody tr")
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    assert.deepEqual(
      cells,
      t.top.map(([g, h, a, b, s, owner]) => [
        String(g),
        String(h),
        String(a),
        String(b),
        s.toFixed(3),
        owner ?? "—",
      ]),
    );
    assert.deepEqual(await tip.locator("thead th").allInnerTexts(), [
      "group",
      "head",
      "i",
      "j",
      "score",
      "language",
    ]);
    await shot(page, "heatmap-tooltip-light");
    // The summary row's cells explain the mix; leaving the grid hides the tooltip.
    await page.locator("#hm-summary .cell").first().hover();
    assert.match(await tip.innerText(), /language mix/);
    await page.mouse.move(2, 2);
    await tip.waitFor({ state: "hidden" });
  });

  it("clicking a language header posts toggleMask; the masks message and the recomputed data mark the column", async () => {
    const page = await loaded(THEMES.light);
    const lang = data.maskedLanguages[0]!;
    const l = data.route.languages.indexOf(lang);
    await clearPosted(page);
    const header = page.locator(`#hm-head button.col-lang[data-lang="${lang}"]`);
    await header.click();
    assert.deepEqual(await posted(page), [{ type: "toggleMask", language: lang }]);
    assert.match((await header.getAttribute("class")) ?? "", /pending/);
    await send(page, { type: "masks", masked: [lang], atlasLanguages: data.route.languages });
    assert.equal(await header.getAttribute("aria-pressed"), "true");
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "computing",
      message: `Routing function word_counts (words.py, lines 1–9)…`,
    });
    assert.match((await page.locator("#hm-grid").getAttribute("class")) ?? "", /stale/);
    assert.match(await page.locator("#hm-status").innerText(), /Computing…/);
    assert.equal(await page.locator("#hm-status vscode-progress-ring").count(), 1);
    await shot(page, "heatmap-computing-light");
    await send(page, { type: "route", seq: 2, data: data.masked, source: SOURCE });
    await send(page, { type: "status", view: "heatmap", state: "idle", message: "" });
    const column = page.locator(`#hm-body .row .cell[data-l="${l}"]`);
    assert.ok((await column.count()) > 0);
    assert.ok(
      await column.evaluateAll((cs) => cs.every((c) => c.classList.contains("masked"))),
      "the masked column is hatched",
    );
    assert.ok(
      (await column.allInnerTexts()).every((x) => x === "0"),
      "masked experts hold no routing mass",
    );
    assert.match(await page.locator("#hm-source").innerText(), new RegExp(`masked: ${lang}`));
    assert.match(await page.locator("#hm-legend-notes").innerText(), /masked/);
    await shot(page, "heatmap-masked-light");
    // Clicking it again asks to unmask.
    await clearPosted(page);
    await header.click();
    assert.deepEqual(await posted(page), [{ type: "toggleMask", language: lang }]);
  });

  it("clicking a row (or Enter on the active row) posts selectTokens for its tokens", async () => {
    const page = await loaded();
    await clearPosted(page);
    await page.locator("#hm-row-5 .c-token").click();
    assert.deepEqual(await posted(page), [{ type: "selectTokens", seq: 1, from: 5, to: 6 }]);
    assert.match((await page.locator("#hm-row-5").getAttribute("class")) ?? "", /active/);
    await page.locator("#hm-grid").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    assert.deepEqual((await posted(page)).slice(1), [{ type: "selectTokens", seq: 1, from: 6, to: 7 }]);
    assert.equal(await page.locator("#hm-grid").getAttribute("aria-activedescendant"), "hm-row-6");
  });

  it("the group toggle shows one routing group at a time", async () => {
    const page = await loaded();
    await page.locator("#hm-group").click();
    await page.locator('#hm-group vscode-option[value="1"]').click();
    await page.waitForFunction(() =>
      document.querySelector("#hm-legend-notes")?.textContent?.includes("routing group 1"),
    );
    const route = data.route;
    for (let i = 0; i < 10; i++) {
      const t = route.tokens[i]!;
      assert.deepEqual(
        await page.locator(`#hm-row-${i} .cell`).allInnerTexts(),
        t.groupShares[1]!.map(percentLabel),
        `token ${i}, group 1`,
      );
      const dom = dominantOf(t.groupShares[1]!, route.languages).language ?? "—";
      assert.equal((await page.locator(`#hm-row-${i} .c-dom`).textContent())?.split(" ")[0], dom);
    }
    await page.locator(`#hm-row-2 .cell`).first().hover();
    const top = await page.locator("#tooltip tbody tr td:first-child").allInnerTexts();
    assert.ok(top.length > 0 && top.every((g) => g === "1"), "the tooltip lists group 1's experts only");
    await shot(page, "heatmap-group1-dark");
    await page.locator("#hm-group").click();
    await page.locator('#hm-group vscode-option[value="all"]').click();
    await page.waitForFunction(() =>
      document.querySelector("#hm-legend-notes")?.textContent?.includes("mean of 2"),
    );
    assert.deepEqual(
      await page.locator("#hm-row-0 .cell").allInnerTexts(),
      route.tokens[0]!.shares.map(percentLabel),
    );
  });

  it("shows clear states: no model, no selection, errors, and no atlas", async () => {
    const page = await loaded(THEMES.dark);
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "noModel",
      message: "No CodeMonet model is configured: set monetLens.modelPath.",
    });
    assert.match(await page.locator("#hm-status").innerText(), /No model[\s\S]*monetLens\.modelPath/);
    assert.equal(await page.locator("#hm-grid").isHidden(), true);
    await shot(page, "state-no-model-dark");
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "noSelection",
      message:
        "Nothing is selected and line 3 of notes.txt is not inside a function: select the code to inspect.",
    });
    assert.match(await page.locator("#hm-status").innerText(), /Nothing to inspect[\s\S]*select the code/);
    await send(page, { type: "route", seq: 3, data: data.route, source: SOURCE });
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "error",
      message: "the text has 3000 tokens; the model reads at most 2048 at once",
    });
    assert.match(await page.locator("#hm-status").innerText(), /Error[\s\S]*2048/);
    assert.equal(await page.locator("#hm-grid").isVisible(), true, "an error keeps the last data visible");
    await send(page, { type: "route", seq: 4, data: data.noAtlas, source: SOURCE });
    await send(page, { type: "status", view: "heatmap", state: "idle", message: "" });
    assert.match(await page.locator("#hm-atlas").innerText(), /No language atlas/);
    assert.equal(await page.locator("#hm-head button.col-lang").count(), 0);
    assert.match(await page.locator("#hm-row-0 .c-top").innerText(), /^g\d · h\d · \d+, \d+ · \d\.\d{3}$/);
    await page.locator("#hm-row-0 .c-top").hover();
    assert.match(await page.locator("#tooltip").innerText(), /No language atlas[\s\S]*Strongest experts/);
    await shot(page, "state-no-atlas-dark");
  });

  it("stays responsive with thousands of tokens: only rows in view are drawn, and beyond 4096 tokens rows aggregate", async () => {
    const page = await loaded(THEMES.dark);
    const big = manyTokens(data.route, 3000);
    // Delivered synchronously, to time the page's own work: view model, layout, rows in view.
    const ms = await page.evaluate(
      (m) => {
        const t0 = performance.now();
        window.dispatchEvent(new MessageEvent("message", { data: m }));
        void document.body.offsetHeight;
        return performance.now() - t0;
      },
      { type: "route", seq: 5, data: big, source: { ...SOURCE, endLine: 200 } } as const,
    );
    console.log(`3000 tokens: drawn in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1000, `3000 tokens drawn in ${ms.toFixed(0)} ms`);
    assert.equal(await page.locator("#hm-body").getAttribute("data-total-rows"), "3000");
    assert.ok((await page.locator("#hm-body .row").count()) < 120, "only the rows in view are in the DOM");
    await page.locator("#hm-grid").evaluate((g) => (g.scrollTop = g.scrollHeight));
    await page.waitForSelector("#hm-row-2999");
    assert.ok((await page.locator("#hm-body .row").count()) < 120);
    await page.locator("#hm-row-2999 .c-token").click();
    assert.deepEqual((await posted(page)).at(-1), { type: "selectTokens", seq: 5, from: 2999, to: 3000 });
    await shot(page, "heatmap-3000-tokens-dark");

    const huge = manyTokens(data.route, 10_000);
    await send(page, { type: "route", seq: 6, data: huge, source: { ...SOURCE, endLine: 700 } });
    assert.equal(
      await page.locator("#hm-body").getAttribute("data-total-rows"),
      String(Math.ceil(10_000 / 3)),
    );
    assert.match(await page.locator("#hm-legend-notes").innerText(), /10,000 tokens: 3 per row/);
    await page.locator("#hm-row-1 .c-token").click();
    assert.deepEqual((await posted(page)).at(-1), { type: "selectTokens", seq: 6, from: 3, to: 6 });
    await page.locator("#hm-row-1 .cell").first().hover();
    assert.match(await page.locator("#tooltip").innerText(), /tokens 4–6 of 10000 \(3\)/);
  });

  it("A/B tab: the continuations with and without masks side by side, divergences marked", async () => {
    const page = await loaded(THEMES.dark);
    await clearPosted(page);
    await page.locator("#tab-ab").click();
    assert.deepEqual(await posted(page), [{ type: "setTab", tab: "ab" }]);
    await send(page, {
      type: "status",
      view: "ab",
      state: "noMasks",
      message: "No language is masked, so both continuations would be the same.",
    });
    assert.match(await page.locator("#ab-status").innerText(), /No masks active/);
    const c = data.compare;
    await send(page, { type: "status", view: "ab", state: "idle", message: "" });
    await send(page, {
      type: "compare",
      seq: 7,
      source: { file: "fib.py", startLine: 3, endLine: 3, kind: "cursor" },
      masked: data.maskedLanguages,
      promptTail: '    """Return the n-th Fibonacci number."""\n',
      plain: c.plain,
      maskedResult: c.masked,
    });
    const diff = diffContinuations(c);
    assert.equal(await page.locator("#ab-plain .ab-tok").count(), c.plain.ids.length);
    assert.equal(await page.locator("#ab-masked .ab-tok").count(), c.masked.ids.length);
    assert.equal(await page.locator("#ab-plain .ab-tok.diverge").count(), diff.diverging.plain);
    assert.equal(await page.locator("#ab-masked .ab-tok.diverge").count(), diff.diverging.masked);
    assert.match(
      await page.locator("#ab-masked .ab-title").innerText(),
      new RegExp(`With masks \\(${data.maskedLanguages[0]}\\)`),
    );
    if (diff.firstDivergence === null)
      assert.match(await page.locator("#ab-summary").innerText(), /Identical/);
    else {
      assert.ok(diff.diverging.plain + diff.diverging.masked > 0);
      assert.match(
        await page.locator("#ab-summary").innerText(),
        new RegExp(`part at token ${diff.firstDivergence + 1}`),
      );
      assert.ok((await page.locator(".ab-tok.first").count()) >= 1);
    }
    await shot(page, "ab-dark");
    await applyTheme(page, THEMES.light);
    await shot(page, "ab-light");
    await applyTheme(page, THEMES.hc);
    await shot(page, "ab-hc");
    await clearPosted(page);
    await page.locator("#ab-run").click();
    assert.deepEqual(await posted(page), [{ type: "runCompare" }]);
    // Back on the heatmap, the grid fills the panel again.
    await page.locator("#tab-heatmap").click();
    assert.deepEqual((await posted(page)).at(-1), { type: "setTab", tab: "heatmap" });
    await page.locator("#hm-row-0").waitFor();
    assert.ok((await page.locator("#hm-grid").evaluate((g) => g.clientHeight)) > 400);
  });

  it("follows the theme (light, dark, high contrast) and the panel's size", async () => {
    const page = await loaded(THEMES.light);
    const cellColor = () =>
      page
        .locator("#hm-summary .cell")
        .first()
        .evaluate((c) => getComputedStyle(c).backgroundColor);
    const light = await cellColor();
    await shot(page, "heatmap-light");
    await applyTheme(page, THEMES.dark);
    const dark = await cellColor();
    assert.notEqual(dark, light, "the heat colours follow the theme");
    await applyTheme(page, THEMES.hc);
    assert.notEqual(await cellColor(), dark);
    assert.match(
      await page
        .locator("#hm-summary .cell")
        .first()
        .evaluate((c) => getComputedStyle(c).boxShadow),
      /inset/,
    );
    await shot(page, "heatmap-hc");
    await page.locator("#hm-row-4 .cell").nth(1).hover();
    await shot(page, "heatmap-tooltip-hc");
    await page.setViewportSize({ width: 430, height: 700 });
    await page.waitForTimeout(100);
    const fits = await page
      .locator("#hm-grid")
      .evaluate((g) => ({ client: g.clientWidth, scroll: g.scrollWidth }));
    assert.ok(fits.client < 430, "the grid shrank with the panel");
    assert.equal(await page.locator("#hm-head button.col-lang").count(), data.route.languages.length);
    await shot(page, "heatmap-narrow-hc");
  });

  it("posts setPinned from the follow checkbox and refresh from the button", async () => {
    const page = await loaded(THEMES.dark);
    await clearPosted(page);
    await page.locator("#hm-follow").click();
    await page.locator("#hm-refresh").click();
    assert.deepEqual(await posted(page), [{ type: "setPinned", pinned: false }, { type: "refresh" }]);
    await send(page, {
      type: "notice",
      message: "The file has changed since this view was computed: recomputing.",
    });
    assert.match(await page.locator("#notice").innerText(), /changed/);
  });
});
