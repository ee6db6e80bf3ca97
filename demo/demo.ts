// The demo: boots the test fleet (`--hosts N`, default 2), writes the `demo` stack from
// `testbed stack-config` with an out-of-tree module set of two modules (one uses a symbol
// the other exports), runs `pulumi preview` and `pulumi up`, and shows per host what was
// installed and loaded: the set is built once, on h1, and installed on every host.
// The preview is shown as a short plan per host; the `up` streams Pulumi's own output as it
// comes (per-host progress lines included), so a long build is visible while it runs.
import * as fs from "fs";
import * as path from "path";
import * as testbed from "../dev/testbed/fleet";
import { Stack } from "../dev/toolchain/stack";
import { repoRoot } from "../dev/toolchain/env";
import { demoFleetConfig } from "./config";
import { planByHost } from "./plan";

const say = (s: string) => console.log(`\n\x1b[1m== ${s}\x1b[0m`);
// The project's default backend (Pulumi.yaml), so `pulumi -s demo ...` works by hand too.
const stack = new Stack("demo", path.join(repoRoot, ".pulumi"));

async function main(): Promise<void> {
  if (process.argv[2] === "down") {
    say("pulumi destroy");
    if (fs.existsSync(stack.configFile)) await stack.cliStreaming(["destroy", "--yes", "--skip-preview"]);
    say("stopping the test fleet");
    await testbed.down();
    return;
  }
  const at = process.argv.indexOf("--hosts");
  const hosts = at > 0 ? Number(process.argv[at + 1]) : 2;
  say(`booting the test fleet (${hosts} QEMU hosts dressed as Flatcar; first run builds the images)`);
  const state = await testbed.up({ hosts });
  for (const s of await testbed.status()) console.log(`  ${s.name}: kernel ${s.kernelRelease}, Flatcar ${s.osVersion}, ssh port ${s.sshPort}`);

  const fleet = await testbed.stackConfig();
  const existing = fs.existsSync(stack.configFile);
  const config = demoFleetConfig(fleet);
  if (existing) stack.setFleet(config);
  else stack.init(config, fs.readFileSync(testbed.keyPath(), "utf8"));

  say("pulumi preview: what will change on each host");
  const preview = stack.cli(["preview", "--json"]).stdout;
  console.log(planByHost(JSON.parse(preview.slice(preview.indexOf("{")))).join("\n"));
  say("pulumi up (Pulumi's output as it comes; building takes minutes under TCG)");
  await stack.cliStreaming(["up", "--yes", "--skip-preview"]);

  say("what each host has now (checked over SSH)");
  for (const h of state.hosts) {
    const r = await testbed.sshCapture(
      h,
      "echo kernel: $(uname -r); echo overlay: $(findmnt -n -o FSTYPE,OPTIONS /usr/lib/modules); " +
        "echo installed: $(ls /usr/lib/modules/$(uname -r)/extra/kmod-pair/); echo loaded: $(lsmod | awk '/^pair_/ {print $1}'); " +
        "echo developer container: $(ls /var/cache/kmod-fleet 2>/dev/null || echo none); " +
        "echo kernel log:; dmesg | grep -E 'pair_(provider|consumer)' | tail -n 4",
    );
    console.log(`${h.name}:\n${r.stdout.replace(/^/gm, "  ").trimEnd()}`);
  }
  console.log(`
Next: npm run testbed -- ssh h1 -- lsmod          look at a host
      source dev/toolchain/env.sh; pulumi -s demo preview --refresh   see drift
      npm run testbed -- update-kernel h2 --reboot; npm run demo   a kernel auto-update: built for it on h2, installed there
      npm run demo -- down                        destroy the stack and stop the fleet`);
}

main().catch((e) => {
  console.error(`demo failed: ${e?.message ?? e}`);
  process.exit(1);
});
