// A minimal event emitter whose `event` has the shape of vscode.Event, so that modules
// outside src/extension/ need no import of "vscode" (and unit tests can load them).

export interface DisposableLike {
  dispose(): void;
}

export type Listener<T> = (value: T) => unknown;

/** Same call shape as vscode.Event<T>. */
export type EventLike<T> = (
  listener: Listener<T>,
  thisArgs?: unknown,
  disposables?: DisposableLike[],
) => DisposableLike;

export class Emitter<T> implements DisposableLike {
  private listeners = new Set<Listener<T>>();

  readonly event: EventLike<T> = (listener, thisArgs, disposables) => {
    const bound: Listener<T> = thisArgs === undefined ? listener : (v) => listener.call(thisArgs, v);
    this.listeners.add(bound);
    const d = { dispose: () => void this.listeners.delete(bound) };
    disposables?.push(d);
    return d;
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch {
        // one listener's failure must not stop the others
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
