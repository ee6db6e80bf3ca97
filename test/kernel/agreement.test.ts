/**
 * The preflight must agree with the kernel's own resolver. For 200 tristate options the
 * Debian cloud config leaves unset (a seeded, repeatable sample), the change set the
 * preflight predicts for `OPTION=m` (plus the dependencies it adds) must equal what
 * `make O=<dir> olddefconfig` does to the same .config, diffed against a baseline run made
 * the same way (so toolchain-dependent values cancel out). Zero disagreements.
 *
 * Cost: one olddefconfig per option, two at a time (KERNEL_AGREEMENT_SAMPLE=N to change N).
 */
import * as fs from "fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KernelModel, applyAssignments, parseDotConfig, preflight } from "../../kernel";
import { Evaluation } from "../../kernel/evaluate";
import { CLOUD_CONFIG, SRC, ensureKernelData, localTree } from "./data";
import { OlddefconfigPool } from "./olddefconfig";

const SAMPLE = Number(process.env.KERNEL_AGREEMENT_SAMPLE ?? 200);
const SEED = 20261126;

let model: KernelModel;
let cloud: string;
let pool: OlddefconfigPool;

beforeAll(() => {
  ensureKernelData();
  model = new KernelModel(localTree(SRC));
  cloud = fs.readFileSync(CLOUD_CONFIG, "utf8");
  pool = new OlddefconfigPool(SRC, 2);
});
afterAll(() => pool?.dispose());

/** A small deterministic generator (LCG) so the sample is the same on every machine. */
function sample<T>(items: T[], n: number, seed: number): T[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff) / 0x80000000);
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]);
  return out;
}

describe("agreement with make olddefconfig", () => {
  it(`${SAMPLE} sampled unset tristates: predicted change sets equal olddefconfig's`, async () => {
    const baseline = await pool.run(cloud);
    const baseVals = parseDotConfig(baseline);
    const ev = new Evaluation(model.kconfig, parseDotConfig(cloud));
    const syms = model.kconfig.symbols;
    const candidates = [...syms.values()]
      .filter((s) => s.type === "tristate" && s.prompts.length > 0 && !s.choice && ev.tri(s.name) === 0)
      .map((s) => s.name)
      .sort();
    const chosen = sample(candidates, SAMPLE, SEED);
    expect(chosen).toHaveLength(SAMPLE);

    const isTri = (k: string) => ["bool", "tristate"].includes(syms.get(k)?.type ?? "");
    const disagreements: string[] = [];
    let changed = 0;
    await Promise.all(
      chosen.map(async (name) => {
        // The baseline olddefconfig answers the compiler probes, as make does on this machine.
        const r = preflight(model, cloud, [`${name}=m`], { probeConfigText: baseline });
        const assigns = [...r.added.map((a) => ({ name: a.option, value: a.value })), ...r.requests.map((q) => ({ name: q.option, value: q.value }))];
        const out = parseDotConfig(await pool.run(applyAssignments(cloud, assigns)));
        const actual = new Map<string, string | null>();
        for (const k of new Set([...out.keys(), ...baseVals.keys()])) {
          if (!syms.has(k)) continue;
          const a = out.get(k) ?? (isTri(k) ? "n" : null);
          const b = baseVals.get(k) ?? (isTri(k) ? "n" : null);
          if (a !== b) actual.set(k, a);
        }
        const predicted = new Map(r.changes.map((c) => [c.option, c.to]));
        const diffs: string[] = [];
        for (const [k, v] of actual) if (predicted.get(k) !== v) diffs.push(`${k}: olddefconfig ${v}, preflight ${predicted.has(k) ? predicted.get(k) : "(no change)"}`);
        for (const [k, v] of predicted) if (!actual.has(k)) diffs.push(`${k}: olddefconfig (no change), preflight ${v}`);
        if (actual.size) changed++;
        if (diffs.length) {
          const req = assigns.map((a) => `${a.name}=${a.value}`).join(" ");
          disagreements.push(`${name} (config + ${req}):\n    ${diffs.join("\n    ")}`);
        }
      }),
    );
    console.log(`agreement: ${chosen.length} options, ${changed} with changes, ${disagreements.length} disagreements`);
    if (disagreements.length) console.log(`DISAGREEMENTS:\n  ${disagreements.join("\n  ")}`);
    expect(disagreements).toEqual([]);
  }, 1_800_000); // 200 olddefconfig runs take 4-13 min depending on how busy the machine is
});
