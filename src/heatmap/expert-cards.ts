// The routing view's expert cards on the extension side, apart from VS Code's API: acts on
// the (already validated) expert messages — open a card, search, contexts from the open
// file or the workspace, the effect at the cursor, the switches — one run at a time per
// kind (a newer one cancels the older; stale results are dropped), and re-sends what the
// tab shows when the page reloads.
import type { ExpertCardDeps, Subscribe } from "./deps";
import { parseExpertQuery, type ContextSource } from "../heatmap-shared/expert-card-data";
import type { FromWebview, SourceInfo, ToWebview, ViewState } from "../heatmap-shared/messages";

type Found<T> = { ok: true; value: T } | { ok: false; reason: string };

export type ExpertMessage = Extract<
  FromWebview,
  {
    type:
      | "openExpert"
      | "findExperts"
      | "expertContexts"
      | "expertEffect"
      | "setExpertScale"
      | "addToExpertSet"
      | "applyExpertSet";
  }
>;

export const EXPERT_MESSAGES: ReadonlySet<string> = new Set<ExpertMessage["type"]>([
  "openExpert",
  "findExperts",
  "expertContexts",
  "expertEffect",
  "setExpertScale",
  "addToExpertSet",
  "applyExpertSet",
]);

export interface ExpertCardsHost {
  post(message: ToWebview): void;
  status(state: ViewState, message: string): void;
  /** The text before the cursor (the effect's prompt) and where it is. */
  cursor(): Found<{ prompt: string; source: SourceInfo }>;
  /** The open file's path, or the workspace's folders, for on-demand contexts. */
  sources(from: ContextSource): Found<string[]>;
  log(line: string): void;
}

/** How an error shows: no model (code NO_MODEL) or its message. */
function stateOf(e: unknown): { state: ViewState; message: string } {
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = (e instanceof Error ? e.message : String(e)).slice(0, 600);
  return code === "NO_MODEL" ? { state: "noModel", message } : { state: "error", message };
}

type Kind = "card" | "contexts" | "effect";

export class ExpertCards {
  private seq = 0;
  private readonly runs = new Map<Kind, AbortController>();
  /** What the tab shows, re-sent when the page reloads. */
  private shown: { main?: ToWebview; contexts?: ToWebview; effect?: ToWebview } = {};
  private readonly sub: { dispose(): void } | undefined;
  private disposed = false;

  constructor(
    private readonly host: ExpertCardsHost,
    private readonly deps: ExpertCardDeps | undefined,
  ) {
    const on: Subscribe<unknown> | undefined = deps?.switches.onDidChange;
    this.sub = on?.(() => this.postSwitches());
  }

  /** The page (re)loaded: what the expert tab showed, and the switches. */
  ready(): void {
    if (!this.deps) return;
    this.postSwitches();
    for (const m of [this.shown.main, this.shown.contexts, this.shown.effect]) if (m) this.host.post(m);
  }

  async handle(m: ExpertMessage): Promise<void> {
    const deps = this.deps;
    if (this.disposed) return;
    if (!deps) {
      this.host.status("error", "Expert cards are not available here.");
      return;
    }
    switch (m.type) {
      case "openExpert":
        return this.openCard(m.expert);
      case "findExperts": {
        const q = parseExpertQuery(m.query);
        if (q.kind === "invalid") {
          this.host.post({ type: "notice", message: q.error });
          return;
        }
        if (q.kind === "expert") return this.openCard(q.expert);
        return this.run("card", `Ranking ${q.language}'s strongest experts…`, async () => {
          const list = await deps.strongest(q.language, q.top);
          return () => {
            const msg: ToWebview = { type: "expertList", seq: ++this.seq, list };
            this.shown = { main: msg };
            this.host.post(msg);
          };
        });
      }
      case "expertContexts": {
        const where = this.host.sources(m.from);
        if (!where.ok) {
          this.host.post({ type: "notice", message: where.reason });
          return;
        }
        return this.run(
          "contexts",
          `Ranking ${m.expert}'s tokens in ${m.from === "file" ? "the open file" : "the workspace"}…`,
          async (signal) => {
            const r = await deps.contextsIn(m.expert, where.value, signal);
            return () => {
              const msg: ToWebview = { type: "expertContexts", expert: m.expert, from: m.from, ...r };
              this.shown.contexts = msg;
              this.host.post(msg);
            };
          },
        );
      }
      case "expertEffect": {
        const at = this.host.cursor();
        if (!at.ok) {
          this.host.status("noSelection", at.reason);
          return;
        }
        const { prompt, source } = at.value;
        if (prompt.trim() === "") {
          this.host.status("noSelection", "There is no code before the cursor: the effect is taken there.");
          return;
        }
        return this.run(
          "effect",
          `Running the model at line ${source.startLine} of ${source.file} with and without ${m.expert}…`,
          async (signal) => {
            const effect = await deps.effect(m.expert, m.scale, prompt, signal);
            return () => {
              const msg: ToWebview = { type: "expertEffect", expert: m.expert, effect, source };
              this.shown.effect = msg;
              this.host.post(msg);
            };
          },
        );
      }
      case "setExpertScale":
        return this.switch(() => deps.switches.setScale(m.expert, m.scale));
      case "addToExpertSet":
        return this.switch(() => deps.switches.addToSet(m.expert, m.set));
      case "applyExpertSet":
        return this.switch(() => deps.switches.applySet(m.set, m.scale));
    }
  }

  private openCard(expert: string): Promise<void> {
    return this.run("card", `Reading ${expert}'s card…`, async () => {
      const card = await this.deps!.card(expert);
      return () => {
        const msg: ToWebview = { type: "expertCard", seq: ++this.seq, card };
        // A new card: the contexts and the effect shown were another expert's.
        this.shown = { main: msg };
        this.runs.get("contexts")?.abort();
        this.runs.get("effect")?.abort();
        this.host.post(msg);
      };
    });
  }

  /** Runs `work` as the one run of its kind; its result is shown only if no newer run started. */
  private async run(
    kind: Kind,
    what: string,
    work: (signal: AbortSignal) => Promise<() => void>,
  ): Promise<void> {
    this.runs.get(kind)?.abort();
    const run = new AbortController();
    this.runs.set(kind, run);
    this.host.status("computing", what);
    try {
      const show = await work(run.signal);
      if (run.signal.aborted || this.disposed) return;
      show();
      this.host.status("idle", "");
    } catch (e) {
      if (run.signal.aborted || this.disposed) return;
      const s = stateOf(e);
      this.host.log(`heatmap: expert card: ${s.message}`);
      this.host.status(s.state, s.message);
    } finally {
      if (this.runs.get(kind) === run) this.runs.delete(kind);
    }
  }

  private async switch(change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.host.log(`heatmap: expert switch: ${message}`);
      this.host.post({ type: "notice", message });
    }
    this.postSwitches();
  }

  private postSwitches(): void {
    if (!this.deps || this.disposed) return;
    this.host.post({ type: "expertSwitches", switches: this.deps.switches.current() });
  }

  dispose(): void {
    this.disposed = true;
    this.sub?.dispose();
    for (const r of this.runs.values()) r.abort();
  }
}
