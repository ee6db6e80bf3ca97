// The host lock over real SSH, in a private mount namespace (/run/lock and /sys/module are
// private tmpfs, modprobe a stub that takes its time for a module named "slow").
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { moduleLoadProvider, type ModuleLoadInputs } from "../../components/providers/moduleLoad/moduleLoad";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;

beforeAll(async () => {
  const modprobe = `
while [ $# -gt 0 ]; do case "$1" in -r|--dry-run) ;; --) shift; break ;; *) break ;; esac; shift; done
[ "$1" = slow ] && sleep 5
mkdir -p "/sys/module/$1"`;
  sshd = await startSshd({ namespace: { stubs: { modprobe }, tmpfs: ["/run/lock", "/sys/module", "/etc/modules-load.d", "/etc/modprobe.d"] } });
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

const load = (stack: string, set: string, modules: string[]): ModuleLoadInputs => ({
  connection: { ...spec, stack },
  set,
  modules,
  parameters: {},
  kernelRelease: "6.1.0-50-cloud-amd64",
  buildDigest: "",
  modulesDir: `${sshd.dir}/modules`,
  workDir: `${sshd.dir}/work`,
  kernelConfig: "",
  commandTimeoutSeconds: 30,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const reset = () => runScript(spec, "rm -rf /sys/module/*", { timeoutSeconds: 10 });

describe("one mutating step per host at a time", () => {
  it("a step of another run fails at once, naming that run's stack and start time", async () => {
    await reset();
    const first = moduleLoadProvider.create(load("proj/stack-a", "one", ["slow"]));
    await sleep(1500);
    const started = Date.now();
    await expect(moduleLoadProvider.create(load("proj/stack-b", "two", ["fast"]))).rejects.toThrow(/^loop: loading fast failed \(exit 75\):\nthe host is busy: another kmod-fleet run holds its lock \(\/run\/lock\/kmod-fleet\.lock\): stack=proj\/stack-a started=\d{4}-\d\d-\d\dT[\d:.]+Z/);
    expect(Date.now() - started).toBeLessThan(9000);
    await first;
  });

  it("steps of the same run wait for each other", async () => {
    await reset();
    const [a, b] = await Promise.all([moduleLoadProvider.create(load("proj/stack-a", "one", ["slow"])), (async () => (await sleep(500), moduleLoadProvider.create(load("proj/stack-a", "two", ["fast"]))))()]);
    expect(a.outs.notLoaded).toEqual([]);
    expect(b.outs.notLoaded).toEqual([]);
  });

  it("after a dropped connection, a rerun finds the host busy while the old step still runs there", async () => {
    await reset();
    const first = moduleLoadProvider.create(load("proj/stack-a", "one", ["slow"])).catch((e) => e);
    await sleep(1500);
    closeAllSessions(); // the connection drops; the step goes on on the host
    expect(String(await first)).toMatch(/loop: /);
    await expect(moduleLoadProvider.create(load("proj/stack-b", "two", ["fast"]))).rejects.toThrow(/the host is busy: .*stack=proj\/stack-a/);
    await sleep(5000);
    await moduleLoadProvider.create(load("proj/stack-b", "two", ["fast"]));
  });
});
