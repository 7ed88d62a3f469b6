// A completion that loops: small models (the demo model above all) fall into repeating a
// line (`n = n - 1` eight times) or a phrase. The first occurrence is kept and the
// repetition dropped. Pure; finishCompletion (stop-rules.ts) applies it.

/** Lines of a block repeated back to back, at most this many lines long. */
const MAX_BLOCK_LINES = 4;
/** A block or phrase counts as a loop when it occurs this many times in a row. */
export const LOOP_REPEATS = 3;
/** Blocks with fewer non-space characters (`}`, `end`) are not loops; nor shorter phrases (`0, `). */
const MIN_BLOCK_CHARS = 4;
const MIN_PHRASE_CHARS = 6;

function nonSpace(s: string): number {
  return s.replace(/\s+/g, "").length;
}

/**
 * Where to cut `text` to drop a loop: after the first occurrence of a block of 1 to 4 lines
 * that occurs LOOP_REPEATS times in a row (an unfinished last line that begins the block
 * counts), or of a phrase of 8 or more characters that occurs 4 times in a row within the
 * text; the earliest such loop wins. Undefined when the text does not loop.
 */
export function loopCut(text: string): number | undefined {
  const lines: Array<{ text: string; start: number; end: number; complete: boolean }> = [];
  for (let start = 0; start < text.length; ) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl + 1;
    lines.push({ text: text.slice(start, nl < 0 ? end : nl), start, end, complete: nl >= 0 });
    start = end;
  }
  let cut: number | undefined;
  for (let i = 0; i < lines.length && cut === undefined; i++) {
    for (let k = 1; k <= MAX_BLOCK_LINES && i + k <= lines.length; k++) {
      const block = lines.slice(i, i + k);
      if (!block.every((l) => l.complete) || nonSpace(block.map((l) => l.text).join("")) < MIN_BLOCK_CHARS)
        continue;
      let reps = 1;
      for (let r = 1; ; r++) {
        let same = true;
        let partial = false;
        for (let j = 0; j < k && same; j++) {
          const line = lines[i + r * k + j];
          if (!line) {
            same = j > 0; // the text ends inside a repetition
            partial = true;
            break;
          }
          if (line.complete) same = line.text === block[j]!.text;
          else {
            same = line.text.length > 0 && block[j]!.text.startsWith(line.text);
            partial = true;
          }
        }
        if (!same) break;
        reps++;
        if (partial) break;
      }
      if (reps >= LOOP_REPEATS) {
        cut = block[k - 1]!.end;
        break;
      }
    }
  }
  const phrase = /(\S[^\n]{7,}?)\1{3,}/.exec(text);
  if (phrase && nonSpace(phrase[1]!) >= MIN_PHRASE_CHARS) {
    const at = phrase.index + phrase[1]!.length;
    if (cut === undefined || at < cut) cut = at;
  }
  return cut;
}

/** `text` without its loop (unchanged when it does not loop). */
export function dropLoop(text: string): string {
  const cut = loopCut(text);
  return cut === undefined ? text : text.slice(0, cut);
}

/** Complete lines held back from a stream: a loop's repetitions (blocks up to 4 lines, twice) fit in them. */
const HELD_LINES = MAX_BLOCK_LINES * (LOOP_REPEATS - 1);

/**
 * A streamed text without its loop: push() returns what may be shown now — complete lines
 * only, and not the last few, which could still turn out to repeat — and end() the rest of
 * the text up to the loop's cut. `looping` says that a loop was found (the generation can stop).
 */
export class LoopFilter {
  private text = "";
  private shown = 0;
  looping = false;

  push(chunk: string): string {
    this.text += chunk;
    const cut = loopCut(this.text);
    if (cut !== undefined) this.looping = true;
    let safe = this.text.length;
    for (let k = 0; k <= HELD_LINES && safe > 0; k++) safe = this.text.lastIndexOf("\n", safe - 1);
    const upTo = Math.min(cut ?? Number.POSITIVE_INFINITY, safe + 1);
    return this.take(upTo);
  }

  end(): string {
    return this.take(loopCut(this.text) ?? this.text.length);
  }

  private take(upTo: number): string {
    if (upTo <= this.shown) return "";
    const out = this.text.slice(this.shown, upTo);
    this.shown = upTo;
    return out;
  }
}
