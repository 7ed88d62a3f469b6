// Runs the routing view's page in headless Debian Chromium as VS Code would: the page HTML
// from src/heatmap/html.ts, the webview bundle and stylesheet served from a loopback HTTP
// server (the CSP source), a fake acquireVsCodeApi that records what the page posts, the
// theme's CSS variables, and messages delivered as window 'message' events.
import { createServer, type Server } from "node:http";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import * as esbuild from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { heatmapHtml } from "../../src/heatmap/html";
import type { ToWebview } from "../../src/heatmap-shared/messages";
import type { WebviewTheme } from "./themes";

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
export const OUT = join(process.cwd(), "test-output", "heatmap");
export const NONCE = "dGVzdC1ub25jZS0xMjM0NTY3ODkw";

/** Bundles webview/main.ts with scripts/build.mjs's options for it (unminified) into `dir`. */
export async function bundleWebview(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await esbuild.build({
    entryPoints: ["webview/main.ts"],
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    outfile: join(dir, "heatmap.js"),
    logLevel: "silent",
  });
}

export interface PageServer {
  origin: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves the page, the bundle (from `bundleDir`) and media/heatmap.css on 127.0.0.1. */
export async function servePage(bundleDir: string): Promise<PageServer> {
  const requests: string[] = [];
  let origin = "";
  const files: Record<string, () => { type: string; body: string | Buffer }> = {
    "/": () => ({
      type: "text/html",
      body: heatmapHtml({
        nonce: NONCE,
        scriptUri: `${origin}/media/heatmap.js`,
        styleUri: `${origin}/media/heatmap.css`,
        cspSource: origin,
      }),
    }),
    "/media/heatmap.js": () => ({
      type: "text/javascript",
      body: readFileSync(join(bundleDir, "heatmap.js")),
    }),
    "/media/heatmap.css": () => ({
      type: "text/css",
      body: readFileSync(join(process.cwd(), "media", "heatmap.css")),
    }),
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    requests.push(path);
    const f = files[path];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    const { type, body } = f();
    res.writeHead(200, { "content-type": `${type}; charset=utf-8`, "cache-control": "no-store" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Before any page script: the fake VS Code API and the error and CSP-violation logs. */
function initScript(): void {
  const w = window as unknown as Record<string, unknown>;
  const posted: unknown[] = [];
  const errors: string[] = [];
  let state: unknown;
  w.__posted = posted;
  w.__errors = errors;
  w.acquireVsCodeApi = () => ({
    postMessage: (m: unknown) => posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => state,
    setState: (s: unknown) => (state = s),
  });
  document.addEventListener("securitypolicyviolation", (e) =>
    errors.push(`CSP ${e.violatedDirective} ${e.blockedURI}`),
  );
  window.addEventListener("error", (e) => errors.push(`error ${e.message}`));
}

export async function applyTheme(page: Page, theme: WebviewTheme): Promise<void> {
  await page.evaluate((t) => {
    const root = document.documentElement;
    for (let k = root.style.length - 1; k >= 0; k--) {
      const name = root.style.item(k);
      if (name.startsWith("--vscode-")) root.style.removeProperty(name);
    }
    for (const [k, v] of Object.entries(t.vars)) root.style.setProperty(k, v);
    document.body.classList.remove(
      "vscode-light",
      "vscode-dark",
      "vscode-high-contrast",
      "vscode-high-contrast-light",
    );
    document.body.classList.add(t.bodyClass);
    document.body.dataset.vscodeThemeKind = t.bodyClass;
  }, theme);
  // The page and the toolkit pick the theme up from a MutationObserver: let them run.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

export async function openPage(
  browser: Browser,
  server: PageServer,
  theme: WebviewTheme,
  size = { width: 1100, height: 760 },
): Promise<Page> {
  const page = await browser.newPage({ viewport: size, deviceScaleFactor: 1 });
  // tsx compiles functions with esbuild's keepNames, so the functions this file hands to the
  // page call a __name helper: give the page one.
  await page.addInitScript({ content: "window.__name = (f) => f;" });
  await page.addInitScript(initScript);
  await page.goto(`${server.origin}/`);
  await applyTheme(page, theme);
  await page.waitForFunction(() =>
    (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === "ready"),
  );
  return page;
}

export async function send(page: Page, message: ToWebview): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, "*"), message);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

export async function posted(page: Page): Promise<Array<Record<string, unknown>>> {
  return page.evaluate(() => (window as unknown as { __posted: Array<Record<string, unknown>> }).__posted);
}

export async function clearPosted(page: Page): Promise<void> {
  await page.evaluate(() => {
    (window as unknown as { __posted: unknown[] }).__posted.length = 0;
  });
}

export async function pageErrors(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __errors: string[] }).__errors);
}
