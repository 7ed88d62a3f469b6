// The routing view's page in headless Debian Chromium, fed with route data that the real
// engine produced on the demo model (demo-data.ts): the DOM (rows, columns, legend,
// summary, dominant language), tooltips on hover, the messages it posts (mask toggle, row
// selection, tabs, controls), the group toggle, its states, thousands of tokens, the A/B
// tab's divergence marks, and screenshots in light, dark and high-contrast themes under
// test-output/heatmap/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { diffContinuations } from "../../src/heatmap-shared/continuation";
import { parseWebviewMessage, type SourceInfo } from "../../src/heatmap-shared/messages";
import type { RouteData, RouteToken } from "../../src/heatmap-shared/route-data";
import { className } from "../../src/heatmap-shared/class-names";
import {
  buildHeatView,
  cellLabel,
  type HeatView,
  liftLabel,
  percentLabel,
  visibleText,
} from "../../src/heatmap-shared/view-model";
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

/** The cells' texts of a view's row (or its summary) as the page draws them. */
function cellTexts(view: HeatView, row: number | "summary", metric: "lift" | "share" = "lift"): string[] {
  const r = row === "summary" ? view.summary : view.rows[row]!;
  return view.columns.map((c, k) => cellLabel(metric, c.kind, r.shares[k]!, r.lift[k] ?? null));
}

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

  it("loads under its CSP, says ready, and draws one row per token, one column per class (languages, prose, no language) with lift and units, the legend with the rule, the summary and the dominant class by the rule", async () => {
    const page = await loaded();
    assert.deepEqual((await posted(page))[0], { type: "ready" });
    const route = data.route;
    const L = route.languages.length;
    const C = route.controls?.length ?? 0;
    assert.ok(L >= 2, `the atlas has languages (${data.atlasSource})`);
    assert.deepEqual(
      await page
        .locator("#hm-head button.col-lang")
        .evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.lang)),
      route.languages,
      "a mask button per language, and none for the control class",
    );
    assert.deepEqual(
      await page.locator("#hm-head .col-lang .col-label").allInnerTexts(),
      route.languages.map(className),
      "display names",
    );
    assert.deepEqual(
      await page
        .locator("#hm-head .col-class")
        .evaluateAll((ds) => ds.map((d) => (d as HTMLElement).dataset.id)),
      [...(route.controls ?? []), "(none)"],
    );
    assert.equal(await page.locator("#hm-body").getAttribute("data-total-rows"), String(route.tokens.length));
    const rows = page.locator("#hm-body .row");
    const drawn = await rows.count();
    assert.ok(drawn > 10 && drawn <= route.tokens.length, `${drawn} rows drawn`);
    const view = buildHeatView(route, "all");
    assert.ok(view.hasLift, "the shipped atlas has baselines");
    let dominantTokens = 0;
    for (let i = 0; i < Math.min(drawn, 20); i++) {
      const row = page.locator(`#hm-row-${i}`);
      const t = route.tokens[i]!;
      assert.equal(await row.locator(".c-token").innerText(), visibleText(t.text, 60));
      assert.equal(await row.locator(".cell").count(), L + C + 1);
      assert.deepEqual(await row.locator(".cell").allInnerTexts(), cellTexts(view, i));
      assert.deepEqual(
        (await row.locator(".cell").allInnerTexts()).slice(0, L),
        t.lift!.map(liftLabel),
        "route's lift, with its unit",
      );
      assert.equal(
        (await row.locator(".cell.unowned").innerText()).trim(),
        `${percentLabel(t.unowned!)}%`,
        "no language: a share",
      );
      const shown = (await row.locator(".c-dom .dom-lang").count())
        ? await row.locator(".c-dom .dom-lang").getAttribute("data-id")
        : null;
      assert.equal(shown, t.dominant, `token ${i}'s dominant class is route's (the token rule)`);
      assert.equal(view.rows[i]!.dominant.language, t.dominant, "the view model agrees with route-shares");
      if (t.dominant) dominantTokens++;
    }
    console.log(`dominant (token rule) on ${dominantTokens} of the first 20 tokens`);
    assert.deepEqual(await page.locator("#hm-summary .cell").allInnerTexts(), cellTexts(view, "summary"));
    const summaryDominant = (await page.locator("#hm-summary .dom-lang").count())
      ? await page.locator("#hm-summary .dom-lang").getAttribute("data-id")
      : null;
    assert.equal(summaryDominant, route.summary!.dominant, "the selection rule, as route's summary");
    assert.equal(view.summary.dominant.language, route.summary!.dominant);
    assert.match(await page.locator("#hm-summary").innerText(), new RegExp(`^${route.tokens.length} tokens`));
    assert.equal(await page.locator("#hm-legend linearGradient stop").count(), 22, "two scales of 11 stops");
    const ticks = await page.locator("#hm-legend .tick text").allTextContents();
    assert.deepEqual(ticks, ["1×", "2×", "3×", "4×", "8×+", "0%", "100%"]);
    const notes = (await page.locator("#hm-legend-notes").textContent()) ?? "";
    assert.match(notes, /mean of 2 routing groups/);
    assert.ok(notes.includes(route.dominance!.text), "the legend states the rule from the data");
    assert.match(notes, /Prose: a control class/);
    assert.match(
      await page.locator("#hm-source").innerText(),
      /words\.py · lines 1–9 · function word_counts · \d+ tokens/,
    );
    assert.equal(await page.locator("#hm-status").isHidden(), true);
    await shot(page, "heatmap-dark");
  });

  it("the colour scale is fixed: the same value has the same colour in every view, and the legend does not rescale", async () => {
    const page = await loaded(THEMES.light);
    const stops = () =>
      page
        .locator("#hm-legend linearGradient stop")
        .evaluateAll((ss) => ss.map((s) => s.getAttribute("stop-color")));
    const before = await stops();
    await send(page, { type: "route", seq: 2, data: data.masked, source: SOURCE });
    assert.deepEqual(await stops(), before, "another selection: the same scale");
    await send(page, { type: "route", seq: 3, data: manyTokens(data.route, 3), source: SOURCE });
    assert.deepEqual(await stops(), before);
    // Two cells with the same lift have the same colour wherever they are.
    const colours = await page
      .locator("#hm-body .cell")
      .evaluateAll((cs) =>
        cs.map((c) => [c.textContent, getComputedStyle(c).backgroundColor, (c as HTMLElement).className]),
      );
    const byLabel = new Map<string, Set<string>>();
    for (const [label, bg, cls] of colours)
      if (!String(cls).includes("unowned") && !String(cls).includes("masked"))
        byLabel.set(String(label), (byLabel.get(String(label)) ?? new Set()).add(String(bg)));
    const repeated = [...byLabel.entries()].filter(([, s]) => s.size > 0);
    assert.ok(repeated.length > 3);
    for (const [label, set] of repeated) assert.ok(set.size <= 2, `${label}: ${[...set].join(", ")}`);
  });

  it("Raw share: the cells show shares with %, the legend a share scale; the choice is kept", async () => {
    const page = await loaded(THEMES.dark);
    await page.locator("#hm-metric").click();
    await page.locator('#hm-metric vscode-option[value="share"]').click();
    await page.waitForFunction(
      () => document.querySelector("#hm-body")?.getAttribute("data-metric") === "share",
    );
    const view = buildHeatView(data.route, "all");
    assert.deepEqual(await page.locator("#hm-row-0 .cell").allInnerTexts(), cellTexts(view, 0, "share"));
    assert.ok((await page.locator("#hm-row-0 .cell").allInnerTexts()).every((x) => x.endsWith("%")));
    assert.deepEqual(await page.locator("#hm-legend .tick text").allTextContents(), [
      "0%",
      "5%",
      "10%",
      "15%",
      "20%",
      "25%+",
      "0%",
      "100%",
    ]);
    await shot(page, "heatmap-share-dark");
  });

  it("hovering a cell shows the token, the language, its share and the token's top experts", async () => {
    const page = await loaded(THEMES.light);
    const i = data.route.tokens.findIndex(
      (t) => t.dominant !== null && data.route.languages.includes(t.dominant) && t.text.trim().length > 1,
    );
    const t = data.route.tokens[i]!;
    const l = data.route.languages.indexOf(t.dominant!);
    await page.locator(`#hm-row-${i} .cell`).nth(l).hover();
    const tip = page.locator("#tooltip");
    await tip.waitFor({ state: "visible" });
    const text = await tip.innerText();
    assert.ok(text.includes(visibleText(t.text, 60)), `the tooltip names the token: ${text}`);
    const pct = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 2 : 1)}%`;
    assert.ok(
      text.includes(
        `${className(t.dominant!)} ${t.dominant}: lift ${liftLabel(t.lift![l]!)}, share ${pct(t.shares[l]!)} (baseline ${pct(data.route.baseline![l]!)})`,
      ),
      text,
    );
    assert.match(text, /— dominant/);
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
        owner ? className(owner) : "—",
      ]),
    );
    assert.deepEqual(await tip.locator("thead th").allInnerTexts(), [
      "group",
      "head",
      "i",
      "j",
      "score",
      "class",
    ]);
    await shot(page, "heatmap-tooltip-light");
    // The summary row's cells explain the mix; leaving the grid hides the tooltip.
    await page.locator("#hm-summary .cell").first().hover();
    assert.match(await tip.innerText(), /selection's mix/);
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
      (await column.allInnerTexts()).every((x) => x === "0×"),
      "masked experts hold no routing mass",
    );
    assert.match(
      await page.locator("#hm-source").innerText(),
      new RegExp(`masked: ${className(lang).replace(/[+]/g, "\\+")}`),
    );
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
    // Across the cells: the active cell is outlined and announced by its label.
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.locator("#hm-grid").getAttribute("aria-activedescendant"), "hm-cell-6-1");
    const cell = page.locator("#hm-cell-6-1");
    assert.match((await cell.getAttribute("class")) ?? "", /active-cell/);
    const lang = className(data.route.languages[1]!);
    assert.match(
      (await cell.getAttribute("aria-label")) ?? "",
      new RegExp(
        `^${lang.replace(/[+]/g, "\\+")}: lift \\d+(\\.\\d)?×, share [\\d.]+% \\(baseline [\\d.]+%\\)$`,
      ),
    );
    assert.match(await page.locator("#tooltip").innerText(), new RegExp(lang.replace(/[+]/g, "\\+")));
    await page.keyboard.press("End");
    assert.equal(
      await page.locator("#hm-grid").getAttribute("aria-activedescendant"),
      `hm-cell-6-${data.route.languages.length + (data.route.controls?.length ?? 0)}`,
      "End: the last cell (no language)",
    );
    assert.match(
      (await page
        .locator(`#hm-cell-6-${data.route.languages.length + (data.route.controls?.length ?? 0)}`)
        .getAttribute("aria-label")) ?? "",
      /^No language: share [\d.]+%/,
    );
    await page.keyboard.press("ArrowDown");
    assert.match((await page.locator("#hm-grid").getAttribute("aria-activedescendant")) ?? "", /^hm-cell-7-/);
    await page.keyboard.press("Home");
    assert.equal(
      await page.locator("#hm-grid").getAttribute("aria-activedescendant"),
      "hm-row-7",
      "Home: the row",
    );
    assert.equal(
      await page.locator("#hm-row-0").getAttribute("aria-rowindex"),
      "3",
      "rows are numbered after the header and summary",
    );
    await page.keyboard.press("Control+End");
    assert.equal(
      await page.locator("#hm-grid").getAttribute("aria-activedescendant"),
      `hm-row-${data.route.tokens.length - 1}`,
    );
  });

  it("the group toggle shows one routing group at a time", async () => {
    const page = await loaded();
    await page.locator("#hm-group").click();
    await page.locator('#hm-group vscode-option[value="1"]').click();
    await page.waitForFunction(() =>
      document.querySelector("#hm-legend-notes")?.textContent?.includes("routing group 1"),
    );
    const route = data.route;
    const g1 = buildHeatView(route, 1);
    for (let i = 0; i < 10; i++) {
      const t = route.tokens[i]!;
      assert.deepEqual(
        await page.locator(`#hm-row-${i} .cell`).allInnerTexts(),
        cellTexts(g1, i),
        `token ${i}, group 1`,
      );
      assert.deepEqual(
        g1.rows[i]!.shares.slice(0, route.languages.length),
        t.groupShares[1],
        "group 1's own shares",
      );
      const shown = (await page.locator(`#hm-row-${i} .dom-lang`).count())
        ? await page.locator(`#hm-row-${i} .dom-lang`).getAttribute("data-id")
        : null;
      assert.equal(shown, g1.rows[i]!.dominant.language, "the token rule on group 1's lift");
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
      cellTexts(buildHeatView(route, "all"), 0),
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
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "noModel",
      message: "No CodeMonet model: set monetLens.modelPath.",
      actions: [
        { action: "selectModelFolder", label: "Select Model Folder…" },
        { action: "showLog", label: "Show Log" },
      ],
    });
    assert.deepEqual(await page.locator("#hm-status vscode-button").allInnerTexts(), [
      "Select Model Folder…",
      "Show Log",
    ]);
    await clearPosted(page);
    await page.locator('#hm-status vscode-button[data-action="selectModelFolder"]').click();
    assert.deepEqual(await posted(page), [{ type: "action", action: "selectModelFolder" }]);
    await shot(page, "state-no-model-dark");
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "noSelection",
      message:
        "Nothing is selected and line 3 of notes.txt is not inside a function: select the code to inspect.",
    });
    assert.match(
      await page.locator("#hm-status").innerText(),
      /Nothing new to inspect[\s\S]*select the code/,
    );
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
    await clearPosted(page);
    await page.locator('#hm-atlas vscode-button[data-action="buildAtlas"]').click();
    await page.locator('#hm-atlas vscode-button[data-action="selectAtlas"]').click();
    assert.deepEqual(await posted(page), [
      { type: "action", action: "buildAtlas" },
      { type: "action", action: "selectAtlas" },
    ]);
    assert.equal(await page.locator("#hm-head button.col-lang").count(), 0);
    assert.match(await page.locator("#hm-row-0 .c-top").innerText(), /^g\d · h\d · \d+, \d+ · \d\.\d{3}$/);
    await page.locator("#hm-row-0 .c-top").hover();
    assert.match(await page.locator("#tooltip").innerText(), /No language atlas[\s\S]*Strongest experts/);
    await shot(page, "state-no-atlas-dark");
  });

  it("never loses the user's place: 'nothing new' and 'too long' keep the last view; a part says which part it is", async () => {
    const page = await loaded(THEMES.dark);
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "noSelection",
      message: "Nothing is selected and line 3 of notes.txt is not inside a function.",
    });
    assert.equal(await page.locator("#hm-grid").isVisible(), true, "the last view stays");
    assert.equal(await page.locator("#hm-row-0").count(), 1);
    await send(page, {
      type: "status",
      view: "heatmap",
      state: "tooLong",
      message:
        "the selection (big.py, lines 1–900) has 12,449 tokens; the model reads 2,047 at once. Route the first 2,047 tokens, or the 2,047 around the cursor.",
      actions: [
        { action: "routeStart", label: "First 2,047 Tokens" },
        { action: "routeCursor", label: "Around the Cursor" },
      ],
    });
    assert.equal(await page.locator("#hm-grid").isVisible(), true);
    assert.match(
      await page.locator("#hm-status").innerText(),
      /Longer than the model reads[\s\S]*12,449 tokens/,
    );
    await shot(page, "state-too-long-dark");
    await clearPosted(page);
    await page.locator('#hm-status vscode-button[data-action="routeCursor"]').click();
    assert.deepEqual(await posted(page), [{ type: "action", action: "routeCursor" }]);
    await send(page, {
      type: "route",
      seq: 9,
      data: data.route,
      source: {
        ...SOURCE,
        startLine: 400,
        endLine: 480,
        kind: "selection",
        part: { which: "cursor", tokens: data.route.tokens.length, of: 12_449 },
      },
    });
    await send(page, { type: "status", view: "heatmap", state: "idle", message: "" });
    assert.match(
      await page.locator("#hm-source").innerText(),
      new RegExp(
        `lines 400–480 · selection · around the cursor: ${data.route.tokens.length} of 12,449 tokens`,
      ),
    );
  });

  it("exports: SVG and PNG drawn by the page, JSON and CSV asked from the extension", async () => {
    const page = await loaded(THEMES.light);
    await clearPosted(page);
    for (const f of ["svg", "png", "json", "csv"])
      await page.locator(`.export-btn[data-export="${f}"]`).click();
    await page.waitForFunction(
      () => (window as unknown as { __posted: unknown[] }).__posted.length >= 4,
      undefined,
      { timeout: 10_000 },
    );
    const sent = await posted(page);
    const image = (format: string) =>
      sent.find((m) => m.type === "exportImage" && m.format === format) as { data: string } | undefined;
    const svg = image("svg")!.data;
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(svg.includes(`All ${data.route.tokens.length} tokens`));
    assert.equal(
      (svg.match(/<rect /g) ?? []).length - 1,
      (data.route.tokens.length + 1) * buildHeatView(data.route, "all").columns.length,
      "a rect per cell, every row (not only those in view)",
    );
    assert.ok(!svg.includes("<script"), "no script in the image");
    const png = Buffer.from(image("png")!.data, "base64");
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
    assert.ok(png.length > 5000);
    assert.deepEqual(
      sent.filter((m) => m.type === "exportData").map((m) => m.format),
      ["json", "csv"],
    );
    for (const m of sent) assert.ok(parseWebviewMessage(m).ok, `valid: ${String(m.type)}`);
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, "export.svg"), svg);
    writeFileSync(join(OUT, "export.png"), png);
  });

  it("lays out from 360 px up in light, dark and high contrast: no clipped labels or values (screenshots)", async () => {
    for (const [name, theme] of [
      ["light", THEMES.light],
      ["dark", THEMES.dark],
      ["hc", THEMES.hc],
    ] as const) {
      for (const width of [360, 600, 1200]) {
        const page = await loaded(theme, data.route, { width, height: 640 });
        await page.waitForTimeout(50);
        const clipped = await page.evaluate(() => {
          const out: string[] = [];
          for (const c of document.querySelectorAll<HTMLElement>("#hm-summary .cell, #hm-body .row .cell"))
            if (c.scrollWidth > c.clientWidth + 1) out.push(`cell ${c.id} "${c.textContent}"`);
          for (const l of document.querySelectorAll<HTMLElement>("#hm-head .col-label"))
            if (l.scrollHeight > l.clientHeight + 1) out.push(`header "${l.textContent}"`);
          for (const d of document.querySelectorAll<HTMLElement>(
            "#hm-summary .c-dom, #hm-body .row .c-dom, .dom-lang",
          ))
            if (d.scrollWidth > d.clientWidth + 1) out.push(`dominant "${d.textContent}"`);
          for (const d of document.querySelectorAll<HTMLElement>("#hm-summary .c-dom, #hm-body .row .c-dom"))
            if (
              d.lastElementChild &&
              d.lastElementChild.getBoundingClientRect().right > d.getBoundingClientRect().right + 1
            )
              out.push(`dominant value "${d.textContent}"`);
          const label = document.querySelector<HTMLElement>("#hm-summary .summary-label")!;
          if (
            label.firstElementChild!.getBoundingClientRect().width <
            label.firstElementChild!.scrollWidth - 1
          )
            out.push(`summary "${label.textContent}"`);
          const src = document.querySelector<HTMLElement>("#hm-source")!;
          if (src.scrollWidth > src.clientWidth + 1) out.push(`source "${src.textContent}"`);
          const sum = document.querySelector<HTMLElement>("#hm-summary .summary-label span")!;
          if (sum.scrollWidth > sum.clientWidth + 1) out.push(`summary label "${sum.textContent}"`);
          return out;
        });
        assert.deepEqual(clipped, [], `${name} at ${width} px`);
        const cellsWithValues = await page
          .locator("#hm-row-0 .cell")
          .evaluateAll((cs) => cs.every((c) => c.textContent !== ""));
        assert.ok(cellsWithValues, `${name} at ${width} px: every cell shows its value`);
        await shot(page, `heatmap-${width}-${name}`);
        assert.deepEqual(await pageErrors(page), []);
        await page.close();
        pages.splice(pages.indexOf(page), 1);
      }
    }
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
