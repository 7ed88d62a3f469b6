// Recent suggestions by prompt. A later prompt that is an earlier one plus text the user
// typed gets the rest of that earlier suggestion when the typed text is how it begins:
// typing (or accepting word by word) through a suggestion keeps it shown with no new
// request. Empty results are cached too, so a prefix the model has nothing for is not
// asked again.

export interface CachedSuggestion {
  /** What to insert at the cursor. */
  text: string;
  /** How many characters of an earlier suggestion the user has typed since (0: exact hit). */
  typed: number;
}

interface Entry {
  key: string;
  prompt: string;
  completion: string;
}

export class SuggestionCache {
  /** Insertion order is recency order. */
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = 128) {}

  get size(): number {
    return this.entries.size;
  }

  put(key: string, prompt: string, completion: string): void {
    const id = `${key}\u0000${prompt}`;
    this.entries.delete(id);
    this.entries.set(id, { key, prompt, completion });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /**
   * The suggestion for `prompt` under `key` (the model, masks and settings): an exact hit,
   * else the remainder of the suggestion whose prompt is the longest prefix of this one
   * and which begins with the typed text. Undefined on a miss.
   */
  get(key: string, prompt: string): CachedSuggestion | undefined {
    const exact = this.entries.get(`${key}\u0000${prompt}`);
    if (exact) {
      this.touch(exact);
      return { text: exact.completion, typed: 0 };
    }
    let best: Entry | undefined;
    for (const e of this.entries.values()) {
      if (
        e.key !== key ||
        e.prompt.length >= prompt.length ||
        (best && e.prompt.length <= best.prompt.length)
      )
        continue;
      const typed = prompt.length - e.prompt.length;
      if (typed >= e.completion.length || !prompt.startsWith(e.prompt)) continue;
      if (e.completion.startsWith(prompt.slice(e.prompt.length))) best = e;
    }
    if (!best) return undefined;
    this.touch(best);
    const typed = prompt.length - best.prompt.length;
    return { text: best.completion.slice(typed), typed };
  }

  clear(): void {
    this.entries.clear();
  }

  private touch(e: Entry): void {
    const id = `${e.key}\u0000${e.prompt}`;
    this.entries.delete(id);
    this.entries.set(id, e);
  }
}
