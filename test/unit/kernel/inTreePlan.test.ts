import { describe, expect, it } from "vitest";
import { inTreePlan, topmost } from "../../../kernel/inTreePlan";

// The preflight's report for SND_DUMMY=m on Debian 6.1's cloud config (abridged).
const SND_DUMMY = {
  requests: [{ option: "SND_DUMMY", value: "m", result: "m" }],
  added: [
    { option: "SOUND", value: "m", why: "" },
    { option: "SND", value: "m", why: "" },
    { option: "SND_DRIVERS", value: "y", why: "" },
  ],
  newModules: [
    { module: "snd_pcm", file: "sound/core/snd-pcm.ko", options: [] },
    { module: "snd", file: "sound/core/snd.ko", options: [] },
    { module: "snd_dummy", file: "sound/drivers/snd-dummy.ko", options: [] },
    { module: "soundcore", file: "sound/soundcore.ko", options: [] },
  ],
};

describe("the in-tree build plan", () => {
  it("sets the requested options and the dependencies the preflight added", () => {
    expect(inTreePlan(SND_DUMMY).options).toEqual(["SND_DUMMY=m", "SOUND=m", "SND=m", "SND_DRIVERS=y"]);
  });

  it("builds the topmost directories of the new modules (Kbuild descends into the others)", () => {
    expect(inTreePlan(SND_DUMMY).directories).toEqual(["sound"]);
    expect(topmost(["drivers/media/i2c", "drivers/media", "drivers/i2c/algos", "drivers/mediatek"])).toEqual(["drivers/media", "drivers/i2c/algos", "drivers/mediatek"]);
  });

  it("keeps the user's directories when they cover every new module", () => {
    expect(inTreePlan(SND_DUMMY, ["sound/core", "sound/drivers", "sound"])).toMatchObject({ directories: ["sound/core", "sound/drivers", "sound"], problems: [] });
  });

  it("says which new module the user's directories miss, and which directory holds none", () => {
    const plan = inTreePlan(SND_DUMMY, ["sound/drivers", "fs/bfs"]);
    expect(plan.problems).toContain("the new module sound/core/snd.ko is in none of the directories listed (sound/drivers, fs/bfs): add sound/core, or leave directories out to have them derived");
    expect(plan.problems).toContain("the directory fs/bfs holds none of the new modules (sound/core/snd-pcm.ko, sound/core/snd.ko, sound/drivers/snd-dummy.ko, sound/soundcore.ko)");
  });

  it("an option the set keeps off (OPTION=n, a preflight's 'Would work' variant) is passed on as =n for build.sh to disable", () => {
    const report = {
      requests: [
        { option: "CAN_PEAK_PCI", value: "m", result: "m" },
        { option: "CAN_PEAK_PCIEC", value: "n", result: "n" },
      ],
      added: [{ option: "CAN_DEV", value: "m", why: "" }],
      newModules: [{ module: "peak_pci", file: "drivers/net/can/sja1000/peak_pci.ko", options: [] }],
    };
    expect(inTreePlan(report).options).toEqual(["CAN_PEAK_PCI=m", "CAN_PEAK_PCIEC=n", "CAN_DEV=m"]);
  });

  it("nothing new to build is a problem, not an empty build", () => {
    expect(inTreePlan({ requests: [{ option: "E1000E", value: "m", result: "m" }], added: [], newModules: [] }).problems[0]).toMatch(/^nothing new to build: with E1000E=m the kernel gets no new module/);
  });
});
