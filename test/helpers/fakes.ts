// Small fakes of the VS Code objects the glue uses: a text document with positions, a
// memento, a cancellation token, a status bar item, and a scripted Ui.
import type * as vscode from "vscode";
import type { StatusItemLike } from "../../src/app/status";
import type { PickItem, ProgressReport, Ui } from "../../src/app/ui";

export class FakePosition {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
  with(line = this.line, character = this.character): FakePosition {
    return new FakePosition(line, character);
  }
}

export class FakeRange {
  constructor(
    readonly start: FakePosition,
    readonly end: FakePosition,
  ) {}
}

export function fakeDocument(
  text: string,
  languageId = "python",
  uri = "file:///work/example.py",
): vscode.TextDocument {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") lineStarts.push(i + 1);
  const offsetAt = (p: FakePosition) =>
    Math.min(text.length, lineStarts[Math.min(p.line, lineStarts.length - 1)]! + p.character);
  const positionAt = (offset: number) => {
    const o = Math.max(0, Math.min(text.length, offset));
    let line = 0;
    while (line + 1 < lineStarts.length && lineStarts[line + 1]! <= o) line++;
    return new FakePosition(line, o - lineStarts[line]!);
  };
  const doc = {
    uri: { toString: () => uri },
    languageId,
    lineCount: lineStarts.length,
    offsetAt,
    positionAt,
    getText: (r?: FakeRange) => (r ? text.slice(offsetAt(r.start), offsetAt(r.end)) : text),
  };
  return doc as unknown as vscode.TextDocument;
}

export class FakeMemento {
  readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, JSON.parse(JSON.stringify(value)));
  }
}

export function fakeToken(): { token: vscode.CancellationToken; cancel: () => void } {
  const listeners: Array<() => void> = [];
  const token = {
    isCancellationRequested: false,
    onCancellationRequested: (l: () => void) => {
      listeners.push(l);
      return { dispose: () => undefined };
    },
  };
  return {
    token: token as unknown as vscode.CancellationToken,
    cancel: () => {
      token.isCancellationRequested = true;
      for (const l of listeners) l();
    },
  };
}

/** A status bar item that only keeps what is set on it. */
export function fakeStatusItem(): StatusItemLike {
  return {
    text: "",
    tooltip: undefined,
    command: undefined,
    show: () => undefined,
    dispose: () => undefined,
  };
}

/** A Ui whose answers are scripted and whose calls are recorded. */
export class FakeUi implements Ui {
  readonly messages: Array<{ kind: "info" | "warn" | "error"; message: string }> = [];
  readonly commands: Array<{ id: string; args: unknown[] }> = [];
  readonly settings: Array<{ key: string; value: unknown; languageId?: string }> = [];
  readonly progress: Array<{ title: string; reports: string[] }> = [];
  /** Picks: given the items, return the chosen ones (labels) or undefined (dismissed). */
  pick: (items: readonly PickItem[], title: string) => string[] | undefined = () => undefined;
  folder: string | undefined;
  folders: string[] = [];
  /** Input boxes: given the options, return the typed text (checked by `validate`) or undefined. */
  typed: (o: { title: string; value?: string }) => string | undefined = () => undefined;
  /** What each input box's validator said of the typed text. */
  readonly validations: Array<string | undefined> = [];
  answer: string | undefined;
  /** What info() and error() answer (an action's label), e.g. "Use It Now". */
  infoAnswer: string | undefined;
  errorAnswer: string | undefined;
  /** The actions each info/warn/error offered, in order. */
  readonly offered: string[][] = [];
  /** What input() answers; it is checked with the caller's validate first (refused: undefined). */
  inputAnswer: string | undefined;
  readonly inputs: Array<{ title: string; refused?: string }> = [];
  /** Aborts progress tasks after this many reports (simulates the Cancel button). */
  cancelAfterReports = Infinity;
  /** Aborts a progress task at the first report for which this holds (the Cancel button, pressed on cue). */
  cancelWhen: ((report: string) => boolean) | undefined;

  async info(message: string, ...actions: string[]): Promise<string | undefined> {
    this.messages.push({ kind: "info", message });
    this.offered.push(actions);
    return this.infoAnswer;
  }
  async warn(message: string, ...actions: string[]): Promise<string | undefined> {
    this.messages.push({ kind: "warn", message });
    this.offered.push(actions);
    return this.answer;
  }
  async error(message: string, ...actions: string[]): Promise<string | undefined> {
    this.messages.push({ kind: "error", message });
    this.offered.push(actions);
    return this.errorAnswer;
  }
  async pickMany<T extends PickItem>(
    items: readonly T[],
    o: { title: string },
  ): Promise<readonly T[] | undefined> {
    const chosen = this.pick(items, o.title);
    return chosen && items.filter((i) => chosen.includes(i.label));
  }
  async pickOne<T extends PickItem>(items: readonly T[], o: { title: string }): Promise<T | undefined> {
    const chosen = this.pick(items, o.title);
    return chosen && items.find((i) => chosen.includes(i.label));
  }
  /**
   * An input box: with `inputAnswer` set, that answer (undefined when `validate` refuses it, as
   * VS Code keeps the box open), recorded in `inputs`; else what `typed` returns, its
   * validation recorded in `validations`.
   */
  async input(o: {
    title: string;
    value?: string;
    validate?: (v: string) => string | undefined;
  }): Promise<string | undefined> {
    if (this.inputAnswer !== undefined) {
      const refused = o.validate?.(this.inputAnswer);
      this.inputs.push({ title: o.title, refused });
      return refused === undefined ? this.inputAnswer : undefined;
    }
    const text = this.typed(o);
    if (text !== undefined) this.validations.push(o.validate?.(text));
    this.inputs.push({ title: o.title });
    return text;
  }
  async pickFolder(): Promise<string | undefined> {
    return this.folder;
  }
  /** What the open-file dialog returns. */
  file: string | undefined;
  async pickFile(): Promise<string | undefined> {
    return this.file;
  }

  async withProgress<R>(
    title: string,
    task: (report: ProgressReport, signal: AbortSignal) => Promise<R>,
  ): Promise<R> {
    const entry = { title, reports: [] as string[] };
    this.progress.push(entry);
    const abort = new AbortController();
    return task((m) => {
      entry.reports.push(m);
      if (entry.reports.length >= this.cancelAfterReports || this.cancelWhen?.(m)) abort.abort();
    }, abort.signal);
  }
  async executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    this.commands.push({ id, args });
    return undefined;
  }
  workspaceFolders(): string[] {
    return this.folders;
  }
  async updateSetting(key: string, value: unknown, languageId?: string): Promise<void> {
    this.settings.push({ key, value, languageId });
  }
}
