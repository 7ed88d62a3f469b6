// The InlineCompletionItemProvider: a snapshot of the text around the cursor goes to the
// completion controller; its suggestion comes back as one inline item at the cursor.
// VS Code itself keeps a shown suggestion while the user types through it and offers
// word-by-word and line-by-line partial acceptance; the controller's cache answers the
// requests that follow at once. Only types are imported from "vscode".
import type * as vscode from "vscode";
import type { CompletionController } from "../completion/controller";
import type { CompletionRequest } from "../completion/request";

/** Characters of context read on each side of the cursor, whatever the document's size. */
export const MAX_AFTER_CHARS = 4000;

export interface InlineProviderDeps {
  controller: Pick<CompletionController, "provide">;
  /** Automatic completion is on for this language. */
  enabledFor(languageId: string): boolean;
  /** Characters before the cursor to read (enough for the prompt's token budget). */
  maxBeforeChars(): number;
  tabSize(document: vscode.TextDocument): number;
  range(start: vscode.Position, end: vscode.Position): vscode.Range;
  item(text: string, range: vscode.Range): vscode.InlineCompletionItem;
  /** vscode.InlineCompletionTriggerKind.Invoke. */
  invokeKind: vscode.InlineCompletionTriggerKind;
  /** A manual request found nothing to suggest. */
  onManualEmpty?(): void;
}

/** The request for a cursor in a document: bounded text before (from a line start) and after. */
export function requestAt(
  document: vscode.TextDocument,
  position: vscode.Position,
  deps: Pick<InlineProviderDeps, "maxBeforeChars" | "tabSize" | "range">,
  manual: boolean,
): CompletionRequest {
  const offset = document.offsetAt(position);
  let start = document.positionAt(Math.max(0, offset - deps.maxBeforeChars()));
  // Begin at a line start, unless the cursor's own line is longer than the whole budget.
  if (start.character > 0 && start.line < position.line) start = position.with(start.line + 1, 0);
  const end = document.positionAt(offset + MAX_AFTER_CHARS);
  return {
    docKey: document.uri.toString(),
    languageId: document.languageId,
    textBefore: document.getText(deps.range(start, position)),
    beforeStart: document.offsetAt(start),
    textAfter: document.getText(deps.range(position, end)),
    tabSize: deps.tabSize(document),
    manual,
  };
}

export class MonetInlineProvider implements vscode.InlineCompletionItemProvider {
  constructor(private readonly deps: InlineProviderDeps) {}

  async provideInlineCompletionItems(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    const manual = context.triggerKind === this.deps.invokeKind;
    if (!manual && !this.deps.enabledFor(document.languageId)) return undefined;
    // The suggest widget is open: its choice decides what comes next, not us.
    if (!manual && context.selectedCompletionInfo) return undefined;
    const req = requestAt(document, position, this.deps, manual);
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    try {
      if (token.isCancellationRequested) return undefined;
      const s = await this.deps.controller.provide(req, abort.signal);
      if (token.isCancellationRequested) return undefined;
      if (!s) {
        if (manual) this.deps.onManualEmpty?.();
        return undefined;
      }
      return [this.deps.item(s.text, this.deps.range(position, position))];
    } finally {
      sub.dispose();
    }
  }
}
