// The page HTML: a strict nonce CSP, nothing remote, every script with the nonce.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { contentSecurityPolicy, escapeHtml, heatmapHtml } from "../../src/heatmap/html";

const opts = {
  nonce: "AbCdEfGhIjKlMnOpQrStUv12",
  scriptUri: "https://file+.vscode-resource.vscode-cdn.net/ext/media/heatmap.js",
  styleUri: "https://file+.vscode-resource.vscode-cdn.net/ext/media/heatmap.css",
  cspSource: "https://*.vscode-cdn.net",
};

describe("heatmap page HTML", () => {
  it("has a strict CSP: scripts by nonce, styles from the extension or by nonce, nothing else", () => {
    assert.equal(
      contentSecurityPolicy(opts.nonce, opts.cspSource),
      "default-src 'none'; script-src 'nonce-AbCdEfGhIjKlMnOpQrStUv12'; style-src " +
        "https://*.vscode-cdn.net 'nonce-AbCdEfGhIjKlMnOpQrStUv12'; img-src " +
        "https://*.vscode-cdn.net data:; font-src https://*.vscode-cdn.net",
    );
    const html = heatmapHtml(opts);
    assert.ok(html.includes(`content="${escapeHtml(contentSecurityPolicy(opts.nonce, opts.cspSource))}"`));
    assert.ok(!html.includes("unsafe-inline") && !html.includes("unsafe-eval"));
  });

  it("accepts the web workbench's CSP source, 'self' and hosts (code-server, VS Code for the Web)", () => {
    // What webview.cspSource is in code-server 4.100 (seen in the end-to-end suite).
    const web = "'self' https://*.vscode-cdn.net";
    assert.equal(
      contentSecurityPolicy(opts.nonce, web),
      "default-src 'none'; script-src 'nonce-AbCdEfGhIjKlMnOpQrStUv12'; style-src 'self' " +
        "https://*.vscode-cdn.net 'nonce-AbCdEfGhIjKlMnOpQrStUv12'; img-src 'self' " +
        "https://*.vscode-cdn.net data:; font-src 'self' https://*.vscode-cdn.net",
    );
    assert.ok(
      heatmapHtml({ ...opts, cspSource: web }).includes("style-src &#39;self&#39; https://*.vscode-cdn.net"),
    );
  });

  it("loads only its own script and stylesheet, with the nonce, and gives the toolkit the nonce", () => {
    const html = heatmapHtml(opts);
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    assert.deepEqual(scripts, [`<script nonce="${opts.nonce}" src="${opts.scriptUri}">`]);
    assert.ok(html.includes(`<link rel="stylesheet" href="${opts.styleUri}" nonce="${opts.nonce}">`));
    assert.ok(html.includes(`<meta property="csp-nonce" content="${opts.nonce}">`));
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(urls.sort(), [opts.scriptUri, opts.styleUri].sort(), "no other resource");
    assert.ok(!/ style="/.test(html), "no inline style attributes");
    assert.ok(!/<style/.test(html), "no inline style elements");
    assert.ok(!/ on[a-z]+="/.test(html), "no inline event handlers");
  });

  it("rejects a weak nonce or a CSP source that could inject directives, and escapes URIs", () => {
    assert.throws(() => heatmapHtml({ ...opts, nonce: "short" }), /nonce/);
    assert.throws(() => heatmapHtml({ ...opts, nonce: "x'; script-src *; '0123456789" }), /nonce/);
    assert.throws(
      () => heatmapHtml({ ...opts, cspSource: "https://a.net; script-src *" }),
      /not a CSP source/,
    );
    assert.throws(() => heatmapHtml({ ...opts, cspSource: "'self' 'unsafe-inline'" }), /not a CSP source/);
    assert.throws(() => heatmapHtml({ ...opts, cspSource: "'self'\nscript-src *" }), /not a CSP source/);
    const html = heatmapHtml({ ...opts, scriptUri: 'https://x/a.js"><script>alert(1)</script>' });
    assert.ok(!html.includes("<script>alert(1)"));
    assert.ok(html.includes("&quot;&gt;&lt;script&gt;"));
  });

  it("has both tabs, the controls and the regions the script fills", () => {
    const html = heatmapHtml(opts);
    for (const id of [
      "tab-heatmap",
      "tab-ab",
      "hm-group",
      "hm-follow",
      "hm-refresh",
      "hm-status",
      "hm-atlas",
      "hm-legend",
      "hm-grid",
      "hm-head",
      "hm-summary",
      "hm-body",
      "ab-run",
      "ab-status",
      "ab-plain",
      "ab-masked",
      "tooltip",
      "notice",
    ]) {
      assert.ok(html.includes(`id="${id}"`), id);
    }
  });
});
