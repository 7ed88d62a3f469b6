// Renders media/icon.svg to media/icon.png (256×256, transparent corners) with Debian's
// Chromium through playwright-core: the Marketplace and Open VSX want a PNG of 128 px or more.
//
//   tsx scripts/render-icon.ts
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const ROOT = resolve(__dirname, "..");
const SIZE = 256;

async function main(): Promise<void> {
  const svg = readFileSync(join(ROOT, "media", "icon.svg"), "utf8");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: SIZE, height: SIZE } });
    await page.setContent(
      `<!doctype html><html><body style="margin:0;background:transparent">${svg}</body></html>`,
    );
    await page.locator("svg").screenshot({ path: join(ROOT, "media", "icon.png"), omitBackground: true });
  } finally {
    await browser.close();
  }
  process.stdout.write(`media/icon.png: ${SIZE}×${SIZE}\n`);
}

void main();
