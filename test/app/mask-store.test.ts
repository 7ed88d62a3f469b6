// The mask state: persisted per workspace, normalised, with change events.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MaskStore } from "../../src/app/mask-store";
import { FakeMemento } from "../helpers/fakes";

describe("mask store", () => {
  it("persists in the workspace state and survives a reload", async () => {
    const memento = new FakeMemento();
    const a = new MaskStore(memento);
    const seen: Array<readonly string[]> = [];
    a.onDidChange((m) => seen.push(m));
    await a.set(["python", "lua", "python", " "]);
    assert.deepEqual(a.current(), ["lua", "python"]);
    await a.toggle("lua");
    await a.toggle("c");
    assert.deepEqual(a.current(), ["c", "python"]);
    assert.deepEqual(seen, [["lua", "python"], ["python"], ["c", "python"]]);
    const b = new MaskStore(memento);
    assert.deepEqual(b.current(), ["c", "python"]);
    await b.clear();
    assert.deepEqual(new MaskStore(memento).current(), []);
  });

  it("no event when nothing changes; damaged state is ignored", async () => {
    const memento = new FakeMemento();
    await memento.update("monetLens.maskedLanguages", "python");
    const s = new MaskStore(memento);
    assert.deepEqual(s.current(), []);
    let events = 0;
    s.onDidChange(() => events++);
    await s.set([]);
    assert.equal(events, 0);
  });
});
