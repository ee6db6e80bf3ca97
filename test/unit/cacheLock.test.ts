// The testbed cache's lock: the background image build of `npm test` and the fleet tests
// ask for the same images, and only one may build them.
import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { spawnSync } from "child_process";
import { withCacheLock } from "../../dev/testbed/cacheLock";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("withCacheLock", () => {
  it("runs one holder at a time; the second waits, says so once, and runs after the first", async () => {
    const lock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kmod-lock-")), "images.lock");
    const events: string[] = [];
    const said: string[] = [];
    const holder = (name: string) => withCacheLock(lock, "the images", async () => {
      events.push(`${name} start`);
      await sleep(2500);
      events.push(`${name} end`);
      return name;
    }, (m) => said.push(m));
    const results = await Promise.all([holder("first"), sleep(100).then(() => holder("second"))]);
    expect(results).toEqual(["first", "second"]);
    expect(events).toEqual(["first start", "first end", "second start", "second end"]);
    expect(said).toEqual([`waiting for another process that builds the images (lock ${lock})`]);
    expect(fs.existsSync(lock)).toBe(false);
  }, 15_000);

  it("takes over a lock whose owner is gone, and lets go when the work fails", async () => {
    const lock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "kmod-lock-")), "images.lock");
    const gone = spawnSync("true").pid!;
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "pid"), String(gone));
    await expect(withCacheLock(lock, "the images", async () => { throw new Error("build failed"); }, () => undefined)).rejects.toThrow("build failed");
    expect(fs.existsSync(lock)).toBe(false);
  });
});
