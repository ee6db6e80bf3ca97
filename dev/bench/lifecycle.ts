// Wall time of each lifecycle phase on the test fleet, for a given number of hosts:
//   npm run bench:lifecycle -- --hosts 1      (then --hosts 2; compare figures of one run)
// Boots a fresh fleet, runs the demo's stack through preview, up, a no-op up, a no-op
// up --refresh and destroy with the real CLI, prints the figures and stops the fleet. Since
// builds are shared, the converging up builds once whatever the number of hosts.
import * as fs from "fs";
import * as path from "path";
import { loadavg } from "os";
import * as testbed from "../testbed/fleet";
import { Stack } from "../toolchain/stack";
import { repoRoot } from "../toolchain/env";
import { demoFleetConfig } from "../../demo/config";

async function main(): Promise<void> {
  const i = process.argv.indexOf("--hosts");
  const hosts = i > 0 ? Number(process.argv[i + 1]) : 1;
  if (testbed.readState()) await testbed.down();
  const t0 = Date.now();
  await testbed.up({ hosts });
  const figures: Record<string, number> = { fleetUp: (Date.now() - t0) / 1000 };
  const stack = new Stack("bench", path.join(repoRoot, ".cache", "bench", "state"));
  // Its own artifact store, empty: the converging up builds once per kernel, as on a first run.
  const store = path.join(repoRoot, ".cache", "bench", "artifacts");
  fs.rmSync(store, { recursive: true, force: true });
  stack.init({ ...demoFleetConfig(await testbed.stackConfig()), build: { store: { path: store } } }, fs.readFileSync(testbed.keyPath(), "utf8"));
  try {
    figures.preview = stack.cli(["preview"]).seconds;
    figures.up = stack.up().seconds;
    figures.upNoop = stack.up().seconds;
    figures.upRefreshNoop = stack.up(["--refresh"]).seconds;
    figures.previewRefreshNoop = stack.cli(["preview", "--refresh"]).seconds;
    figures.destroy = stack.cli(["destroy", "--yes", "--skip-preview"]).seconds;
  } finally {
    stack.destroyState();
    await testbed.down();
  }
  const result = { hosts, at: new Date().toISOString(), loadAverage: loadavg().map((l) => l.toFixed(1)).join(" "), seconds: figures };
  fs.mkdirSync(path.join(repoRoot, ".cache", "bench"), { recursive: true });
  fs.writeFileSync(path.join(repoRoot, ".cache", "bench", `lifecycle-${hosts}.json`), JSON.stringify(result, null, 2) + "\n");
  console.log(`lifecycle on ${hosts} host(s), load average ${result.loadAverage}:`);
  for (const [phase, s] of Object.entries(figures)) console.log(`  ${phase.padEnd(20)} ${s.toFixed(1).padStart(7)} s`);
}

main().catch((e) => {
  console.error(`bench failed: ${e?.message ?? e}`);
  process.exit(1);
});
