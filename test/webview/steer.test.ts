// The steering controls of the routing view's page in headless Chromium: a slider per atlas
// language in the heatmap's header (values from the masks message, setScale posted when one
// is let go, a scale above the range pinned at its end, none without an atlas), and the A/B
// tab's two settings (selects, "Save current") with per-token log-probability differences
// from the real engine on the demo model. Screenshots under test-output/steer/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { findAtlas } from "../../src/atlas/atlas-store";
import { resolveSteering } from "../../src/atlas/steering-selection";
import { Engine } from "../../src/engine/engine";
import { parseWebviewMessage, type SourceInfo, type ToWebview } from "../../src/heatmap-shared/messages";
import type { Continuation } from "../../src/heatmap-shared/route-data";
import { DEMO_MODEL, TEST_CACHE } from "../helpers/fixtures";
import { demoData, type DemoData } from "./demo-data";
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

const OUT = join(process.cwd(), "test-output", "steer");
const SOURCE: SourceInfo = {
  file: "words.py",
  startLine: 1,
  endLine: 9,
  kind: "function",
  name: "word_counts",
};
/** An ambiguous prompt: a comment that any C-like language could continue. */
const AB_PROMPT = "// Return the larger of two integers.\n";
const skip = chromiumAvailable()
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium to run the webview page tests`;

/** The real engine's greedy continuations under A and B, each token scored under both. */
async function abData(): Promise<{
  a: Required<Continuation>;
  b: Required<Continuation>;
  scales: Record<string, number>;
}> {
  const engine = await Engine.open({ modelDir: DEMO_MODEL, ep: "cpu", cacheDir: TEST_CACHE });
  try {
    const atlas = findAtlas(engine.identity)!;
    const scales = { rust: 2, c: 0 };
    const steering = resolveSteering(atlas.atlas, { languages: scales }, { unknown: "reject" }).steering;
    const prompt = engine.tokenizer.encode(AB_PROMPT);
    const run = async (own: typeof steering | undefined, other: typeof steering | undefined) => {
      engine.resetCache();
      const r = await engine.generateIds(prompt, { maxTokens: 24, steering: own });
      const all = [...prompt, ...r.ids];
      return {
        text: r.text,
        ids: r.ids,
        pieces: r.ids.map((id) => engine.tokenizer.idToPiece(id)),
        logprobs: {
          own: await engine.tokenLogprobs(all, prompt.length, own),
          other: await engine.tokenLogprobs(all, prompt.length, other),
        },
      };
    };
    return { a: await run(undefined, steering), b: await run(steering, undefined), scales };
  } finally {
    await engine.close();
  }
}

describe("steering controls of the routing view (headless Chromium)", { skip }, () => {
  let data: DemoData;
  let ab: Awaited<ReturnType<typeof abData>>;
  let server: PageServer;
  let browser: Browser;
  const pages: Page[] = [];

  before(async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    [data, ab] = await Promise.all([demoData(), abData()]);
    await bundleWebview(join(OUT, "bundle"));
    server = await servePage(join(OUT, "bundle"));
    browser = await launch();
  });

  after(async () => {
    for (const p of pages) {
      for (const m of await posted(p))
        assert.ok(parseWebviewMessage(m).ok, `the page posted an invalid message: ${JSON.stringify(m)}`);
      assert.deepEqual(await pageErrors(p), [], "no script errors and no CSP violations");
    }
    await browser?.close();
    await server?.close();
  });

  async function open(theme = THEMES.dark): Promise<Page> {
    const page = await openPage(browser, server, theme, { width: 1100, height: 640 });
    pages.push(page);
    return page;
  }

  const masksMessage = (scales: Record<string, number>): ToWebview => ({
    type: "masks",
    masked: Object.keys(scales).filter((l) => scales[l] === 0),
    atlasLanguages: data.route.languages,
    scales,
  });

  it("a slider per atlas language shows its scale; letting one go posts setScale; a large scale pins it at the end", async () => {
    const page = await open();
    await send(page, { type: "init", pinned: true, tab: "heatmap" });
    const masked = data.maskedLanguages[0]!;
    await send(page, masksMessage({ [masked]: 0, rust: 1.5, go: 5 }));
    await send(page, { type: "route", seq: 1, data: data.masked, source: SOURCE });
    await send(page, { type: "status", view: "heatmap", state: "idle", message: "" });
    const sliders = page.locator("#hm-steer input[type=range]");
    assert.equal(await sliders.count(), data.route.languages.length);
    const item = (l: string) => page.locator(`#hm-steer .steer-item[data-language="${l}"]`);
    assert.equal(await item("rust").locator("input").inputValue(), "1.5");
    assert.equal(await item("rust").locator(".steer-value").innerText(), "×1.5");
    assert.equal(await item(masked).locator(".steer-value").innerText(), "off");
    assert.ok((await item(masked).getAttribute("class"))!.includes("masked"));
    assert.equal(await item("go").locator("input").inputValue(), "3", "×5 is beyond the slider: pinned at 3");
    assert.equal(await item("go").locator(".steer-value").innerText(), "×5");
    assert.equal(await item("lua").locator(".steer-value").innerText(), "×1");
    await page.screenshot({ path: join(OUT, "sliders-dark.png") });

    await clearPosted(page);
    await item("lua").locator("input").focus();
    await page.keyboard.press("ArrowRight");
    await page.keyboard.press("ArrowRight");
    assert.equal(await item("lua").locator(".steer-value").innerText(), "×1.5");
    const sent = (await posted(page)).filter((m) => m.type === "setScale");
    assert.deepEqual(sent.at(-1), { type: "setScale", language: "lua", scale: 1.5 });
    await clearPosted(page);
    await item("rust").locator("input").dblclick();
    assert.deepEqual((await posted(page)).at(-1), { type: "setScale", language: "rust", scale: 1 });
    // The extension's answer sets every slider (also for changes made elsewhere).
    await send(page, masksMessage({ lua: 1.5 }));
    assert.equal(await item(masked).locator(".steer-value").innerText(), "×1");
    assert.equal(await item("lua").locator("input").inputValue(), "1.5");
    // No atlas: no sliders.
    await send(page, { type: "masks", masked: [], atlasLanguages: null, scales: {} });
    assert.equal(await page.locator("#hm-steer").isHidden(), true);
  });

  it("A/B tab: two settings chosen with selects and Save current; each token's Δ log p under the other setting", async () => {
    const page = await open();
    await send(page, { type: "init", pinned: true, tab: "ab" });
    await send(page, masksMessage(ab.scales));
    await send(page, { type: "compareSides", a: "none", b: "current", saved: null });
    assert.equal(await page.locator("#ab-side-a").inputValue(), "none");
    assert.equal(await page.locator("#ab-side-b").inputValue(), "current");
    assert.equal(await page.locator('#ab-side-a option[value="saved"]').isDisabled(), true);
    await clearPosted(page);
    await page.locator("#ab-save").click();
    assert.deepEqual((await posted(page)).at(-1), { type: "saveSteering" });
    await send(page, { type: "compareSides", a: "none", b: "current", saved: { python: 0 } });
    assert.equal(await page.locator('#ab-side-a option[value="saved"]').innerText(), "Saved: −python");
    await page.locator("#ab-side-a").selectOption("saved");
    assert.deepEqual((await posted(page)).at(-1), { type: "setCompareSides", a: "saved", b: "current" });
    await send(page, { type: "compareSides", a: "none", b: "current", saved: { python: 0 } });

    await send(page, {
      type: "compare",
      seq: 3,
      source: { file: "max.c", startLine: 2, endLine: 2, kind: "cursor" },
      masked: ["c"],
      promptTail: AB_PROMPT,
      plain: ab.a,
      maskedResult: ab.b,
      sides: {
        a: { side: "none", scales: {}, label: "none" },
        b: { side: "current", scales: ab.scales, label: "rust×2, −c" },
      },
    });
    assert.equal(await page.locator("#ab-plain .ab-title").innerText(), "A: none");
    assert.equal(await page.locator("#ab-masked .ab-title").innerText(), "B: rust×2, −c");
    const toks = page.locator("#ab-masked .ab-tok.lp");
    assert.equal(await toks.count(), ab.b.ids.length, "every token of B has its Δ log p");
    const k = 0;
    const d = Number(await toks.nth(k).getAttribute("data-dlogp"));
    assert.ok(Math.abs(d - (ab.b.logprobs.other[k]! - ab.b.logprobs.own[k]!)) < 1e-3);
    assert.match(
      (await toks.nth(k).getAttribute("title"))!,
      /log p under B \(rust×2, −c\): -?\d+\.\d{3}\nlog p under A \(none\)/,
    );
    assert.match(
      await page.locator("#ab-summary").innerText(),
      /B's \d+ tokens: Σ log p -?\d+\.\d\d under B/,
    );
    const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
    assert.ok(Number.isFinite(sum(ab.a.logprobs.own)) && Number.isFinite(sum(ab.b.logprobs.other)));
    await page.screenshot({ path: join(OUT, "ab-steering-dark.png") });
    // No steering against masks alone reads as the masks' A/B view.
    await send(page, {
      type: "compare",
      seq: 4,
      source: { file: "max.c", startLine: 2, endLine: 2, kind: "cursor" },
      masked: ["c"],
      promptTail: AB_PROMPT,
      plain: ab.a,
      maskedResult: ab.b,
      sides: {
        a: { side: "none", scales: {}, label: "none" },
        b: { side: "current", scales: { c: 0 }, label: "−c" },
      },
    });
    assert.equal(await page.locator("#ab-masked .ab-title").innerText(), "With masks (c)");
    assert.deepEqual(await page.locator("#ab-summary .chip").allTextContents(), ["c"]);
    await applyTheme(page, THEMES.light);
    await page.screenshot({ path: join(OUT, "ab-masks-light.png") });
  });
});
