// The few VS Code UI calls the commands make, behind an interface: the extension gives the
// real ones (src/extension/vscode-ui.ts), tests give a scripted fake.

export interface PickItem {
  label: string;
  description?: string;
  detail?: string;
  picked?: boolean;
}

export interface Logger {
  /** Detail for "why did nothing show" questions (hidden at the default log level). */
  debug?(line: string): void;
  info(line: string): void;
  warn(line: string): void;
  error(line: string): void;
}

export type ProgressReport = (message: string, increment?: number) => void;

export interface Ui {
  info(message: string, ...actions: string[]): Promise<string | undefined>;
  warn(message: string, ...actions: string[]): Promise<string | undefined>;
  error(message: string, ...actions: string[]): Promise<string | undefined>;
  pickMany<T extends PickItem>(
    items: readonly T[],
    options: { title: string; placeholder?: string },
  ): Promise<readonly T[] | undefined>;
  pickOne<T extends PickItem>(
    items: readonly T[],
    options: { title: string; placeholder?: string },
  ): Promise<T | undefined>;
  pickFolder(options: { title: string; defaultPath?: string }): Promise<string | undefined>;
  /** An open-file dialog (optional: tests may leave it out). */
  pickFile?(options: { title: string; defaultPath?: string }): Promise<string | undefined>;
  /** A line of text; `validate` returns why a value is refused (shown as the user types), or undefined. */
  input(options: {
    title: string;
    /** Said under the box. */
    prompt?: string;
    placeholder?: string;
    value?: string;
    validate?: (value: string) => string | undefined;
  }): Promise<string | undefined>;
  /** A cancellable notification with progress; `signal` aborts when the user cancels. */
  withProgress<R>(
    title: string,
    task: (report: ProgressReport, signal: AbortSignal) => Promise<R>,
  ): Promise<R>;
  executeCommand(id: string, ...args: unknown[]): Promise<unknown>;
  /** Workspace folder paths (file system). */
  workspaceFolders(): string[];
  /** A short note that goes away by itself (the status bar), for what needs no answer. */
  note?(message: string): void;
  /** Writes a monetLens.* setting in the user settings, for one language when given. */
  updateSetting(key: string, value: unknown, languageId?: string): Promise<void>;
}
