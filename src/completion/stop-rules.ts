// Which structure rule a request gets, and the final cut of a generated text: the engine
// stops on the rule (src/engine/structure-stop.ts) at most a token late, so the text is cut
// again here; a block stopped by a budget loses its unfinished last line.
import { indentWidth, structureCut, type StructureRule } from "../engine/structure-stop";
import type { StopReason } from "../engine/generate";
import { loopCut } from "./loop-stop";
import type { CursorLine } from "./request";

/** Mid-line: finish the line. At a line start: a block at the cursor's indentation. */
export function structureRuleFor(line: CursorLine, tabSize: number): StructureRule {
  return line.atLineStart
    ? { kind: "block", indent: indentWidth(line.prefix, tabSize), tabSize }
    : { kind: "line" };
}

/**
 * The completion to show for a generated text (before deduplication against the document):
 * a loop (a line or phrase repeated, loop-stop.ts) is dropped first, then the structure cut.
 */
export function finishCompletion(text: string, stopReason: StopReason, rule: StructureRule): string {
  const loop = loopCut(text);
  if (loop !== undefined) {
    text = text.slice(0, loop);
    stopReason = "structure"; // nothing unfinished is left at the end of the first occurrence
  }
  const cut = structureCut(text, rule);
  let out = cut === undefined ? text : text.slice(0, cut);
  const budgetStop =
    stopReason === "max-tokens" || stopReason === "time-limit" || stopReason === "context-full";
  if (cut === undefined && budgetStop && rule.kind === "block") {
    const nl = out.lastIndexOf("\n");
    if (nl > 0) out = out.slice(0, nl); // keep whole lines only
  }
  out = out.replace(/\s+$/, "");
  return out.trim() === "" ? "" : out;
}
