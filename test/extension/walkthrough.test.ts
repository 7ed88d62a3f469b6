// The getting-started walkthrough as package.json declares it: its steps in the order,
// every link and completion event naming a command that exists, every media file present and
// packed; and it opens by itself once, never again.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { COMMAND_NAMES, commandId } from "../../src/app/command-ids";
import { openWalkthroughOnce, WALKTHROUGH_ID, WALKTHROUGH_SHOWN_KEY } from "../../src/app/first-run";
import { COMMON_FILES } from "../../scripts/platforms";
import { FakeMemento } from "../helpers/fakes";

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string };
  completionEvents: string[];
}
const pkg = JSON.parse(readFileSync("package.json", "utf8")) as {
  contributes: {
    commands: Array<{ command: string; title: string }>;
    walkthroughs: Array<{ id: string; title: string; steps: Step[] }>;
  };
};
const OUR_COMMANDS = new Set(COMMAND_NAMES.map(commandId));

describe("getting-started walkthrough", () => {
  const [walkthrough] = pkg.contributes.walkthroughs;

  it("is declared with the steps real model, completion, inspect, mask", () => {
    assert.equal(pkg.contributes.walkthroughs.length, 1);
    assert.equal(walkthrough!.id, WALKTHROUGH_ID);
    assert.deepEqual(
      walkthrough!.steps.map((s) => s.id),
      ["realModel", "completion", "inspect", "mask"],
    );
    assert.match(walkthrough!.steps[0]!.description, /\(command:monetLens\.downloadModel\)/);
    assert.match(walkthrough!.steps[0]!.description, /demo model/, "the offline fallback is said");
  });

  it("links and completion events name commands that exist; media files exist and are packed", () => {
    for (const step of walkthrough!.steps) {
      const links = [...step.description.matchAll(/\(command:([\w.]+)/g)].map((m) => m[1]!);
      const events = step.completionEvents
        .filter((e) => e.startsWith("onCommand:"))
        .map((e) => e.slice("onCommand:".length));
      assert.ok(links.length > 0, `${step.id} has a button`);
      for (const id of [...links, ...events])
        assert.ok(
          id.startsWith("workbench.") || OUR_COMMANDS.has(id as ReturnType<typeof commandId>),
          `${step.id}: ${id} is a command`,
        );
      const md = step.media.markdown!;
      assert.ok(existsSync(md), md);
      assert.ok(COMMON_FILES.includes(md), `${md} is checked to be in every package`);
    }
  });

  it("Download Model… is contributed", () => {
    assert.deepEqual(
      pkg.contributes.commands.find((c) => c.command === "monetLens.downloadModel")?.title,
      "Download Model…",
    );
  });

  it("opens on the first activation only, even when opening fails", async () => {
    const state = new FakeMemento();
    let opened = 0;
    assert.equal(await openWalkthroughOnce(state, async () => opened++), true);
    assert.equal(await openWalkthroughOnce(state, async () => opened++), false);
    assert.equal(opened, 1);
    assert.equal(state.get(WALKTHROUGH_SHOWN_KEY), true);

    const failing = new FakeMemento();
    await assert.rejects(
      openWalkthroughOnce(failing, async () => {
        throw new Error("no walkthroughs in this editor");
      }),
    );
    assert.equal(await openWalkthroughOnce(failing, async () => opened++), false, "not retried");
  });
});
