// The getting-started walkthrough (package.json contributes.walkthroughs) opens by itself once:
// on the first activation after install, never again (the flag lives in the global state, so
// a new window or workspace does not reopen it; the Help menu's Welcome page still lists it).
import type { StateStore } from "./mask-store";

export const WALKTHROUGH_ID = "gettingStarted";
export const WALKTHROUGH_SHOWN_KEY = "monetLens.walkthroughShown";

/** Opens the walkthrough unless it was opened before; returns whether it opened it now. */
export async function openWalkthroughOnce(state: StateStore, open: () => Promise<unknown>): Promise<boolean> {
  if (state.get<boolean>(WALKTHROUGH_SHOWN_KEY)) return false;
  // Flag first: a failure to open must not reopen it at every start.
  await state.update(WALKTHROUGH_SHOWN_KEY, true);
  await open();
  return true;
}
