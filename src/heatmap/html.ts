// The routing view's page (pure): static structure, the stylesheet and the bundled script,
// under a strict Content-Security-Policy — scripts only with the page's nonce, styles only
// from the extension's media folder or with the nonce, images and fonts only from there,
// nothing remote, no 'unsafe-inline'. The toolkit's components read the nonce from the
// `csp-nonce` meta tag for the one <style> element they create.

export interface HtmlOptions {
  /** A fresh random nonce per page load (newNonce()). */
  nonce: string;
  /** webview.asWebviewUri(media/heatmap.js) and (media/heatmap.css), as strings. */
  scriptUri: string;
  styleUri: string;
  /** webview.cspSource. */
  cspSource: string;
}

const NONCE = /^[A-Za-z0-9+/_-]{16,128}={0,2}$/;

export function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/**
 * webview.cspSource: CSP source expressions separated by spaces — host or scheme sources
 * (desktop VS Code: `https://*.vscode-cdn.net`) and the keyword 'self' (code-server and
 * VS Code for the Web: `'self' https://*.vscode-cdn.net`); no other keyword, quote or separator.
 */
function checkSource(s: string): string {
  const parts = s.trim().split(/ +/);
  if (!parts.every((p) => p === "'self'" || /^[A-Za-z0-9.*:/_+-]+$/.test(p)))
    throw new Error(`not a CSP source: ${JSON.stringify(s)}`);
  return parts.join(" ");
}

export function contentSecurityPolicy(nonce: string, cspSource: string): string {
  const src = checkSource(cspSource);
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${src} 'nonce-${nonce}'`,
    `img-src ${src} data:`,
    `font-src ${src}`,
  ].join("; ");
}

/** The expert card's tab (webview/expert-card.ts fills it). */
const EXPERT_VIEW = `  <vscode-panel-view id="view-expert">
    <section class="view" aria-label="Expert card">
      <div class="toolbar">
        <div class="source" id="ex-source">No expert open</div>
        <form class="controls" id="ex-search" role="search">
          <input class="ex-input ex-query" id="ex-query" type="search" maxlength="80" autocomplete="off"
            spellcheck="false" placeholder="g0:359:356 or top experts of rust" aria-label="Find an expert">
          <vscode-button id="ex-find" appearance="secondary" title="Open the expert's card, or list the language's strongest experts">Find</vscode-button>
        </form>
      </div>
      <div class="status" id="ex-status" role="status" aria-live="polite" hidden></div>
      <div class="ex-body" id="ex-body" tabindex="0"></div>
    </section>
  </vscode-panel-view>
`;

export function heatmapHtml(o: HtmlOptions): string {
  if (!NONCE.test(o.nonce)) throw new Error("the nonce must be 16 to 128 base64 characters");
  const csp = contentSecurityPolicy(o.nonce, o.cspSource);
  const n = escapeHtml(o.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta property="csp-nonce" content="${n}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}" nonce="${n}">
<title>Monet Lens: Routing Heatmap</title>
</head>
<body>
<vscode-panels id="tabs" activeid="tab-heatmap" aria-label="Routing views">
  <vscode-panel-tab id="tab-heatmap">HEATMAP</vscode-panel-tab>
  <vscode-panel-tab id="tab-ab">A/B: STEERING</vscode-panel-tab>
  <vscode-panel-tab id="tab-expert">EXPERT</vscode-panel-tab>
  <vscode-panel-view id="view-heatmap">
    <section class="view" aria-label="Routing heatmap">
      <div class="toolbar">
        <div class="source" id="hm-source" title="">No data yet</div>
        <div class="controls">
          <vscode-dropdown id="hm-metric" aria-label="What the cells show"
            title="Lift over baseline (1× is chance) or the raw share of the routing mass">
            <vscode-option value="lift">Lift over baseline</vscode-option>
            <vscode-option value="share">Raw share</vscode-option>
          </vscode-dropdown>
          <label class="control-label" for="hm-group">View</label>
          <vscode-dropdown id="hm-group" aria-label="Routing group">
            <vscode-option value="all">All groups (mean)</vscode-option>
          </vscode-dropdown>
          <vscode-checkbox id="hm-follow" checked
            title="Pinned: recompute when the editor's selection changes">Follow selection</vscode-checkbox>
          <vscode-button id="hm-refresh" appearance="secondary"
            title="Route the editor's selection (or the function around the cursor) now">Refresh</vscode-button>
          <div class="export" role="group" aria-label="Export the view">
            <span class="control-label">Export</span>
            <vscode-button class="export-btn" data-export="svg" appearance="icon" aria-label="Export as SVG image"
              title="Save the view as an SVG image">SVG</vscode-button>
            <vscode-button class="export-btn" data-export="png" appearance="icon" aria-label="Export as PNG image"
              title="Save the view as a PNG image">PNG</vscode-button>
            <vscode-button class="export-btn" data-export="json" appearance="icon" aria-label="Export the routing data as JSON"
              title="Save the routing data (route --json) as JSON">JSON</vscode-button>
            <vscode-button class="export-btn" data-export="csv" appearance="icon" aria-label="Export the routing data as CSV"
              title="Save the routing data as CSV, one row per token">CSV</vscode-button>
          </div>
        </div>
      </div>
      <div class="status" id="hm-status" role="status" aria-live="polite" hidden></div>
      <div class="status" id="hm-atlas" role="note" hidden></div>
      <div class="steer-row" id="hm-steer" role="group" aria-label="Steer language experts" hidden></div>
      <div class="legend-row" id="hm-legend-row">
        <svg id="hm-legend" class="legend" role="img" aria-label="Colour scale"></svg>
        <div class="legend-notes" id="hm-legend-notes"></div>
      </div>
      <div class="ex-strip" id="hm-token-experts" role="group" aria-label="The clicked token's experts" hidden></div>
      <div class="grid" id="hm-grid" tabindex="0" role="grid"
        aria-label="Routing heatmap: lift or share per token and class; arrow keys move across rows and cells, Enter selects the token in the editor">
        <div class="grid-head" id="hm-head" role="row"></div>
        <div class="grid-summary" id="hm-summary" role="row"></div>
        <div class="grid-body" id="hm-body" role="rowgroup"></div>
      </div>
      <div class="empty" id="hm-empty" hidden></div>
    </section>
  </vscode-panel-view>
  <vscode-panel-view id="view-ab">
    <section class="view" aria-label="Greedy continuations under two settings">
      <div class="toolbar">
        <div class="source" id="ab-source">Cursor position</div>
        <div class="controls">
          <label class="control-label" for="ab-side-a">A</label>
          <select id="ab-side-a" class="ab-side" aria-label="Setting of side A"></select>
          <label class="control-label" for="ab-side-b">B</label>
          <select id="ab-side-b" class="ab-side" aria-label="Setting of side B"></select>
          <vscode-button id="ab-save" appearance="secondary"
            title="Keep the current steering as the saved setting, to compare it with another">Save current</vscode-button>
          <vscode-button id="ab-run" appearance="secondary"
            title="Compute both continuations at the cursor">Run at cursor</vscode-button>
        </div>
      </div>
      <div class="status" id="ab-status" role="status" aria-live="polite" hidden></div>
      <div class="ab-summary" id="ab-summary"></div>
      <div class="ab-columns" id="ab-columns">
        <div class="ab-col" id="ab-plain">
          <h3 class="ab-title">A: no steering</h3><pre class="ab-text" tabindex="0"></pre>
        </div>
        <div class="ab-col" id="ab-masked">
          <h3 class="ab-title">B: current steering</h3><pre class="ab-text" tabindex="0"></pre>
        </div>
      </div>
    </section>
  </vscode-panel-view>
${EXPERT_VIEW}</vscode-panels>
<div class="tooltip" id="tooltip" role="tooltip" hidden></div>
<div class="notice" id="notice" role="alert" hidden></div>
<script nonce="${n}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
