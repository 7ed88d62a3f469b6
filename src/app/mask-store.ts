// The masked languages of this workspace: persisted in the workspace state, changed by the
// mask commands and the heatmap, read by every completion (so a change applies at once).
import { Emitter, type EventLike } from "./emitter";

/** The part of vscode.Memento used here. */
export interface StateStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void>;
}

const KEY = "monetLens.maskedLanguages";

export class MaskStore {
  private readonly changed = new Emitter<readonly string[]>();
  private languages: readonly string[];
  readonly onDidChange: EventLike<readonly string[]> = this.changed.event;

  constructor(private readonly state: StateStore) {
    const saved = state.get<unknown>(KEY);
    this.languages = Array.isArray(saved)
      ? normalise(saved.filter((x): x is string => typeof x === "string"))
      : [];
  }

  current(): readonly string[] {
    return this.languages;
  }

  async set(languages: readonly string[]): Promise<void> {
    const next = normalise(languages);
    if (next.length === this.languages.length && next.every((l, i) => l === this.languages[i])) return;
    this.languages = next;
    await this.state.update(KEY, next);
    this.changed.fire(next);
  }

  toggle(language: string): Promise<void> {
    return this.set(
      this.languages.includes(language)
        ? this.languages.filter((l) => l !== language)
        : [...this.languages, language],
    );
  }

  clear(): Promise<void> {
    return this.set([]);
  }

  dispose(): void {
    this.changed.dispose();
  }
}

function normalise(languages: readonly string[]): string[] {
  return [...new Set(languages.map((l) => l.trim()).filter((l) => l !== ""))].sort();
}
