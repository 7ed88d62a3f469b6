// Expert cards in the routing view: the experts of a clicked token (a strip above the
// heatmap), the search box, a language's strongest experts, and an expert's card — its
// routing profile per class against its mean over all tokens (a d3 bar chart), its top
// contexts (atlas corpus; on demand the open file or the workspace) with the token
// highlighted, its exact effect at the cursor, and the switches that reach completions.
// Text from files only ever goes in through textContent.
import { axisBottom, format, scaleBand, scaleLinear, select } from "d3";
import type {
  CardContext,
  ExpertCardData,
  ExpertEffect,
  ExpertListData,
  ExpertSwitchesData,
  TokenChange,
} from "../src/heatmap-shared/expert-card-data";
import { EXPERT_ID, MAX_SCALE, SET_NAME } from "../src/heatmap-shared/expert-card-data";
import type { FromWebview, ToWebview, ViewState } from "../src/heatmap-shared/messages";
import type { RouteData } from "../src/heatmap-shared/route-data";
import type { HeatRow } from "../src/heatmap-shared/view-model";
import { el, tokenText } from "./dom";
import { showStatus } from "./status";

export interface CardElements {
  /** The strip of a clicked token's experts, in the heatmap tab. */
  strip: HTMLElement;
  source: HTMLElement;
  status: HTMLElement;
  form: HTMLFormElement;
  query: HTMLInputElement;
  body: HTMLElement;
}

export type CardMessage = Extract<
  ToWebview,
  { type: "expertCard" | "expertList" | "expertContexts" | "expertEffect" | "expertSwitches" }
>;
export const CARD_MESSAGES: ReadonlySet<string> = new Set([
  "expertCard",
  "expertList",
  "expertContexts",
  "expertEffect",
  "expertSwitches",
]);

const num = (x: number) => (x === 0 ? "0" : x >= 0.01 ? x.toFixed(4) : x.toExponential(2));
const prob = (p: number) => `${(100 * p).toFixed(p < 0.001 ? 3 : 1)}%`;
const pts = (d: number) => `${d >= 0 ? "+" : "−"}${(100 * Math.abs(d)).toFixed(Math.abs(d) < 0.001 ? 3 : 1)}`;

function button(label: string, title: string, onClick: () => void, cls = "ex-btn"): HTMLButtonElement {
  const b = el("button", cls, label);
  b.type = "button";
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

function section(title: string): HTMLElement {
  const s = el("section", "ex-section");
  s.append(el("h3", "ex-title", title));
  return s;
}

/** A token's piece as people read it: ▁ is a space, <0x0A> a line break. */
function pieceText(piece: string): string {
  return piece
    .replace(/▁/g, " ")
    .replace(/<0x0A>/g, "\n")
    .replace(/<0x09>/g, "\t");
}

export class ExpertCards {
  private card: ExpertCardData | null = null;
  private switches: ExpertSwitchesData = { scales: [], sets: [] };
  private parts: { contexts?: HTMLElement; own?: HTMLElement; effect?: HTMLElement; switches?: HTMLElement } =
    {};

  constructor(
    private readonly e: CardElements,
    private readonly post: (m: FromWebview) => void,
    private readonly showTab: () => void,
  ) {
    e.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const q = e.query.value.trim();
      if (q) this.post({ type: "findExperts", query: q.slice(0, 80) });
    });
    this.empty();
  }

  /** Opens an expert's card (posts; the extension answers with the card). */
  open(expert: string): void {
    if (!EXPERT_ID.test(expert)) return;
    this.showTab();
    this.post({ type: "openExpert", expert });
  }

  /** A row of the heatmap was clicked: its strongest experts, as buttons that open their cards. */
  showTokenExperts(data: RouteData | null, row: HeatRow | null): void {
    const strip = this.e.strip;
    if (!data || !row || row.top.length === 0) {
      strip.hidden = true;
      strip.replaceChildren();
      return;
    }
    // One entry per expert (g, i, j): its score summed over the heads listed.
    const by = new Map<string, { score: number; owner: string | null }>();
    for (const [g, , i, j, score, owner] of row.top) {
      const id = `g${g}:${i}:${j}`;
      const had = by.get(id);
      by.set(id, { score: (had?.score ?? 0) + score, owner: owner ?? had?.owner ?? null });
    }
    const experts = [...by].sort((a, b) => b[1].score - a[1].score).slice(0, 9);
    const label = el("span", "ex-strip-label");
    label.append(
      document.createTextNode("Experts of "),
      tokenText(row.text, 24),
      document.createTextNode(" — open a card:"),
    );
    const chips = experts.map(([id, { score, owner }]) => {
      const b = button(
        owner ? `${id} · ${owner}` : id,
        `Open the card of expert ${id} (score ${score.toFixed(3)}${owner ? `, labelled ${owner}` : ""})`,
        () => this.open(id),
        "ex-chip",
      );
      b.dataset.expert = id;
      return b;
    });
    strip.replaceChildren(label, ...chips);
    strip.hidden = false;
  }

  status(state: ViewState, message: string): void {
    showStatus(this.e.status, state, message);
    this.e.body.classList.toggle("stale", state === "computing");
  }

  handle(m: CardMessage): void {
    switch (m.type) {
      case "expertCard":
        this.showCard(m.card);
        return;
      case "expertList":
        this.showList(m.list);
        return;
      case "expertContexts":
        if (this.card?.expert === m.expert && this.parts.own) {
          const where = m.from === "file" ? "the open file" : "the workspace";
          this.fillContexts(
            this.parts.own,
            m.contexts,
            `${m.contexts.length ? "Top tokens" : "The expert does not fire"} in ${where} (${m.tokens.toLocaleString("en")} tokens of ${m.files} file${m.files === 1 ? "" : "s"} read)`,
          );
        }
        return;
      case "expertEffect":
        if (this.card?.expert === m.expert && this.parts.effect) this.showEffect(this.parts.effect, m);
        return;
      case "expertSwitches":
        this.switches = m.switches;
        if (this.parts.switches) this.fillSwitches(this.parts.switches);
        return;
    }
  }

  private empty(): void {
    this.e.source.textContent = "No expert open";
    const p = el("div", "empty");
    p.textContent =
      "Click a token in the heatmap and one of its experts, or search an expert (g0:359:356) " +
      "or a language's strongest experts (top experts of rust).";
    this.e.body.replaceChildren(p);
  }

  private showList(list: ExpertListData): void {
    this.card = null;
    this.parts = {};
    this.e.source.textContent = `${list.language}: strongest experts`;
    const s = section(`${list.language}'s strongest experts (mean score on its tokens)`);
    const table = el("table", "ex-table");
    const head = el("tr");
    for (const h of ["expert", "mean score", "× all tokens", "next class (×)"])
      head.append(el("th", undefined, h));
    table.append(el("thead"));
    table.tHead!.append(head);
    const body = el("tbody");
    for (const r of list.experts) {
      const tr = el("tr");
      const link = button(r.expert, `Open the card of ${r.expert}`, () => this.open(r.expert), "ex-link");
      link.dataset.expert = r.expert;
      const cell = el("td");
      cell.append(link);
      tr.append(
        cell,
        el("td", "num", num(r.mean)),
        el("td", "num", r.lift.toFixed(2)),
        el("td", undefined, r.next ? `${r.next} (${r.ratio === null ? "∞" : r.ratio.toFixed(1)}×)` : "—"),
      );
      body.append(tr);
    }
    table.append(body);
    s.append(table);
    if (list.experts.length === 0) s.append(el("div", "tt-dim", "The atlas gives this class no experts."));
    this.e.body.replaceChildren(s);
  }

  private showCard(c: ExpertCardData): void {
    this.card = c;
    this.e.source.textContent = `Expert ${c.expert} · ${c.atlas}`;
    const head = el("div", "ex-head");
    head.append(el("span", "ex-id", c.expert));
    head.append(
      el(
        "span",
        c.owner ? "ex-owner" : "ex-owner none",
        c.owner ? `${c.owner.id}${c.owner.kind === "control" ? " (control class)" : ""}` : "no class",
      ),
      el(
        "span",
        "tt-dim",
        `routing group ${c.group} · half-experts i ${c.i}, j ${c.j} · mean score over all tokens ${num(c.pooledMean)} (${(100 * c.pooledShare).toFixed(4)}% of a token's mass)`,
      ),
    );
    const profile = section("Routing profile: mean score per class ÷ its mean over all tokens");
    profile.append(this.profileChart(c));
    const contexts = section("Top contexts in the atlas corpus");
    const corpus = el("div", "ex-contexts");
    this.fillContexts(corpus, c.contexts, "");
    for (const m of c.missing) corpus.append(el("div", "tt-dim", m));
    const own = el("div", "ex-contexts ex-own");
    const actions = el("div", "ex-actions");
    actions.append(
      button(
        "Rank in the open file",
        "Run the model over the open file and show where this expert fires most",
        () => this.post({ type: "expertContexts", expert: c.expert, from: "file" }),
      ),
      button(
        "Rank in the workspace",
        "Run the model over the workspace's files (bounded) and show where it fires most",
        () => this.post({ type: "expertContexts", expert: c.expert, from: "workspace" }),
      ),
    );
    contexts.append(corpus, actions, own);
    const effect = section("Effect at the cursor");
    const effectBody = el("div", "ex-effect");
    effect.append(this.effectControls(c), effectBody);
    const switches = section("Switches (apply to completions in this workspace)");
    const switchBody = el("div", "ex-switches");
    switches.append(switchBody);
    this.parts = { contexts: corpus, own, effect: effectBody, switches: switchBody };
    this.fillSwitches(switchBody);
    this.e.body.replaceChildren(head, profile, contexts, effect, switches);
    this.e.body.scrollTop = 0;
  }

  /**
   * Horizontal bars per class of the expert's mean score there ÷ its mean over all the
   * atlas corpus's tokens (the baseline, the dashed line at ×1).
   */
  private profileChart(c: ExpertCardData): SVGSVGElement {
    const rowH = 18;
    const m = { top: 6, right: 64, bottom: 30, left: 96 };
    const w = 420;
    const h = c.classes.length * rowH;
    const svgEl = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    const svg = select(svgEl)
      .attr("class", "ex-chart")
      .attr("width", w + m.left + m.right)
      .attr("height", h + m.top + m.bottom)
      .attr("role", "img")
      .attr(
        "aria-label",
        `Mean score of ${c.expert} per class, as a multiple of its mean over all tokens: ${c.classes.map((k) => `${k.id} ${k.lift.toFixed(2)}`).join(", ")}`,
      );
    const top = Math.max(1, ...c.classes.map((k) => k.lift));
    const x = scaleLinear().domain([0, top]).nice().range([0, w]);
    const y = scaleBand<string>()
      .domain(c.classes.map((k) => k.id))
      .range([0, h])
      .padding(0.18);
    const g = svg.append("g").attr("transform", `translate(${m.left},${m.top})`);
    const rows = g
      .selectAll("g.ex-bar")
      .data(c.classes)
      .join("g")
      .attr(
        "class",
        (k) => `ex-bar${k.id === c.owner?.id ? " owner" : ""}${k.kind === "control" ? " control" : ""}`,
      )
      .attr("data-class", (k) => k.id)
      .attr("transform", (k) => `translate(0,${y(k.id)})`);
    rows
      .append("rect")
      .attr("width", (k) => Math.max(1, x(k.lift)))
      .attr("height", y.bandwidth());
    rows
      .append("text")
      .attr("class", "ex-label")
      .attr("x", -6)
      .attr("y", y.bandwidth() / 2)
      .attr("dy", "0.35em")
      .attr("text-anchor", "end")
      .text((k) => (k.kind === "control" ? `${k.id}*` : k.id));
    rows
      .append("text")
      .attr("class", "ex-value")
      .attr("x", (k) => Math.max(x(k.lift), x(1)) + 5)
      .attr("y", y.bandwidth() / 2)
      .attr("dy", "0.35em")
      .text((k) => `×${k.lift.toFixed(2)}`);
    rows
      .append("title")
      .text((k) => `${k.id}: mean score ${num(k.mean)}, ${k.lift.toFixed(2)}× its mean over all tokens`);
    const base = g
      .append("g")
      .attr("class", "ex-baseline")
      .attr("transform", `translate(${x(1)},0)`);
    base.append("line").attr("y1", -4).attr("y2", h);
    g.append("g")
      .attr("class", "ex-axis")
      .attr("transform", `translate(0,${h})`)
      .call(
        axisBottom(x)
          .ticks(5)
          .tickFormat((v) => `×${format("~g")(v as number)}`)
          .tickSizeOuter(0),
      );
    g.append("text")
      .attr("class", "ex-axis-note")
      .attr("x", 0)
      .attr("y", h + 28)
      .text(
        `×1 (dashed): its mean over all tokens, ${num(c.pooledMean)}${c.classes.some((k) => k.kind === "control") ? " · * control class" : ""}`,
      );
    return svgEl;
  }

  private fillContexts(target: HTMLElement, contexts: readonly CardContext[], title: string): void {
    const parts: Node[] = [];
    if (title) parts.push(el("div", "ex-subtitle", title));
    for (const s of contexts) {
      const item = el("div", "ex-context");
      const where = el("div", "ex-where");
      where.append(
        el("span", "ex-path", `${s.path}:${s.line}`),
        el("span", "num tt-dim", ` score ${s.score.toFixed(3)}`),
      );
      const pre = el("pre", "ex-snippet");
      // Blank lines around the context say nothing: they are left out.
      pre.append(
        document.createTextNode(s.before.replace(/^(?:[ \t]*\r?\n)+/, "")),
        el("mark", "ex-token", s.token),
        document.createTextNode(s.after.replace(/(?:\r?\n[ \t]*)+$/, "")),
      );
      item.append(where, pre);
      parts.push(item);
    }
    if (contexts.length === 0 && !title)
      parts.push(el("div", "tt-dim", "No context of the atlas corpus to show."));
    target.replaceChildren(...parts);
  }

  private effectControls(c: ExpertCardData): HTMLElement {
    const row = el("div", "ex-actions");
    const scale = el("input", "ex-input ex-scale");
    scale.type = "number";
    scale.min = "0";
    scale.max = String(MAX_SCALE);
    scale.step = "0.1";
    scale.value = "0";
    scale.title =
      "The expert's routing score is multiplied by this: 0 switches it off, 1 changes nothing, above 1 amplifies";
    scale.setAttribute("aria-label", "Scale for the effect");
    const run = button(
      "Effect at cursor",
      "Next-token distribution and greedy continuation at the cursor, with and without this change",
      () => {
        const s = Number(scale.value);
        if (Number.isFinite(s) && s >= 0 && s <= MAX_SCALE)
          this.post({ type: "expertEffect", expert: c.expert, scale: s });
        else scale.setCustomValidity(`0 to ${MAX_SCALE}`);
      },
    );
    run.classList.add("ex-run-effect");
    scale.addEventListener("input", () => scale.setCustomValidity(""));
    const label = el("label", "control-label", "scale");
    row.append(label, scale, run);
    return row;
  }

  private showEffect(target: HTMLElement, m: Extract<ToWebview, { type: "expertEffect" }>): void {
    const e: ExpertEffect = m.effect;
    const what = e.scale === 0 ? "switched off" : `scaled by ${e.scale}`;
    const parts: Node[] = [
      el("div", "ex-subtitle", `${m.source.file}, line ${m.source.startLine}: ${e.expert} alone ${what}`),
    ];
    const sum = el("div", "ex-effect-summary");
    sum.append(
      document.createTextNode(`KL ${e.kl.toExponential(2)} nats · next token `),
      tokenText(pieceText(e.top1.before.piece), 20),
      document.createTextNode(` ${prob(e.top1.before.before)} → `),
      tokenText(pieceText(e.top1.after.piece), 20),
      document.createTextNode(` ${prob(e.top1.after.after)}`),
    );
    parts.push(sum);
    if (e.up.length === 0 && e.down.length === 0)
      parts.push(el("div", "tt-dim", "No token's probability moves: the expert takes no part here."));
    else {
      const cols = el("div", "ex-updown");
      cols.append(
        this.changeTable("Up (probability before → after, change in points)", e.up, "up"),
        this.changeTable("Down", e.down, "down"),
      );
      parts.push(cols);
    }
    if (e.continuation) {
      const cont = el("div", "ex-continuations");
      for (const [title, text] of [
        ["Greedy continuation without", e.continuation.before],
        [`With ${e.expert} ${what}`, e.continuation.after],
      ] as const) {
        const col = el("div", "ex-cont");
        col.append(el("div", "ex-subtitle", title), el("pre", "ex-snippet", text));
        cont.append(col);
      }
      if (e.continuation.before === e.continuation.after)
        parts.push(el("div", "tt-dim", "The greedy continuation is the same."));
      parts.push(cont);
    }
    target.replaceChildren(...parts);
  }

  private changeTable(title: string, list: readonly TokenChange[], kind: "up" | "down"): HTMLElement {
    const wrap = el("div", `ex-change ${kind}`);
    wrap.append(el("div", "ex-subtitle", title));
    const table = el("table", "ex-table");
    const top = Math.max(1e-12, ...list.map((t) => Math.abs(t.delta)));
    for (const t of list) {
      const tr = el("tr");
      const tok = el("td", "ex-piece");
      tok.append(tokenText(pieceText(t.piece), 18));
      tok.title = `id ${t.id} · ${t.piece}`;
      const bar = el("td", "ex-delta");
      const b = el("span", `ex-delta-bar ${kind}`);
      b.style.width = `${Math.round((48 * Math.abs(t.delta)) / top)}px`;
      bar.append(b, el("span", "num", ` ${pts(t.delta)}`));
      tr.append(tok, el("td", "num", `${prob(t.before)} → ${prob(t.after)}`), bar);
      table.append(tr);
    }
    wrap.append(table);
    return wrap;
  }

  private fillSwitches(target: HTMLElement): void {
    const c = this.card;
    if (!c) return;
    const scale = this.switches.scales.find(([x]) => x === c.expert)?.[1];
    const state = el(
      "div",
      "ex-switch-state",
      scale === undefined
        ? "Not switched: completions use it as the model does."
        : scale === 0
          ? "Masked in completions."
          : `Scaled by ${scale} in completions.`,
    );
    state.dataset.scale = String(scale ?? 1);
    const row = el("div", "ex-actions");
    const factor = el("input", "ex-input ex-switch-scale");
    factor.type = "number";
    factor.min = "0";
    factor.max = String(MAX_SCALE);
    factor.step = "0.1";
    factor.value = String(scale !== undefined && scale !== 0 ? scale : 2);
    factor.setAttribute("aria-label", "Scale in completions");
    row.append(
      button("Mask", "Switch this expert off in completions", () =>
        this.post({ type: "setExpertScale", expert: c.expert, scale: 0 }),
      ),
      button("Scale", "Multiply this expert's routing score by the factor in completions", () => {
        const s = Number(factor.value);
        if (Number.isFinite(s) && s >= 0 && s <= MAX_SCALE)
          this.post({ type: "setExpertScale", expert: c.expert, scale: s });
      }),
      factor,
      button("Reset", "Completions use this expert as the model does", () =>
        this.post({ type: "setExpertScale", expert: c.expert, scale: 1 }),
      ),
    );
    const setRow = el("form", "ex-actions");
    const name = el("input", "ex-input ex-set-name");
    name.type = "text";
    name.maxLength = 40;
    name.placeholder = "set name";
    name.setAttribute("aria-label", "Expert set name");
    name.value = this.switches.sets[0]?.name ?? "";
    setRow.append(
      name,
      button("Add to set", "Add this expert to the named set (made if new)", () => setRow.requestSubmit()),
    );
    setRow.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const n = name.value.trim();
      if (SET_NAME.test(n)) this.post({ type: "addToExpertSet", expert: c.expert, set: n });
      else name.setCustomValidity("letters, digits, space, _ . -");
    });
    name.addEventListener("input", () => name.setCustomValidity(""));
    const sets = el("div", "ex-sets");
    for (const s of this.switches.sets) {
      const item = el("div", `ex-set${s.experts.includes(c.expert) ? " has" : ""}`);
      const masked = s.experts.every((x) => this.switches.scales.some(([y, v]) => y === x && v === 0));
      item.append(
        el("strong", undefined, s.name),
        el(
          "span",
          "tt-dim",
          ` ${s.experts.length} expert${s.experts.length === 1 ? "" : "s"}${s.experts.includes(c.expert) ? ", this one among them" : ""} `,
        ),
        button(
          masked ? "Unmask set" : "Mask set",
          masked
            ? "Completions use the set's experts again"
            : "Switch every expert of the set off in completions",
          () => this.post({ type: "applyExpertSet", set: s.name, scale: masked ? 1 : 0 }),
        ),
      );
      item.title = s.experts.join(", ");
      sets.append(item);
    }
    const all = this.switches.scales.length
      ? el(
          "div",
          "tt-dim",
          `Switched in this workspace: ${this.switches.scales.map(([x, v]) => (v === 0 ? `${x} masked` : `${x}×${v}`)).join(", ")}`,
        )
      : el("div", "tt-dim", "No expert is switched in this workspace.");
    target.replaceChildren(state, row, setRow, sets, all);
  }
}
