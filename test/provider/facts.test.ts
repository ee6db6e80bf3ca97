// Host facts read over a real SSH connection, from release files laid out like Flatcar's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import { execSync } from "child_process";
import { closeAllSessions, type ConnectionSpec } from "../../ssh/session";
import { hostFactsProvider, probeFacts, type FactsProbe } from "../../components/hostFacts";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let probe: FactsProbe;
beforeAll(async () => {
  sshd = await startSshd();
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  const d = sshd.dir;
  fs.writeFileSync(`${d}/release`, "FLATCAR_RELEASE_VERSION=3975.2.0\nFLATCAR_RELEASE_BOARD=amd64-usr\nFLATCAR_RELEASE_APPID={e96281a6-d1af-4bde-9a0a-97b76e56dc57}\n");
  fs.writeFileSync(`${d}/update.conf`, "SERVER=https://public.update.flatcar-linux.net/v1/update/\nGROUP=stable\n");
  fs.writeFileSync(`${d}/etc-update.conf`, "GROUP=beta\n");
  fs.writeFileSync(`${d}/config-${os.release()}`, "CONFIG_MODULES=y\n");
  probe = {
    releaseFiles: [`${d}/release`],
    versionVariable: "FLATCAR_RELEASE_VERSION",
    boardVariable: "FLATCAR_RELEASE_BOARD",
    updateConfFiles: [`${d}/update.conf`, `${d}/etc-update.conf`],
    defaultGroup: "stable",
    kernelConfigSources: ["/proc/nonexistent-config.gz", `${d}/config-\${KERNEL}`],
  };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

describe("host facts", () => {
  it("reads kernel, release, group (the /etc override wins) and the first kernel config that exists", async () => {
    const facts = await probeFacts(spec, probe);
    expect(facts).toMatchObject({
      kernelRelease: os.release(),
      arch: "x86_64",
      osVersion: "3975.2.0",
      board: "amd64-usr",
      group: "beta",
      kernelConfig: `${sshd.dir}/config-${os.release()}`,
    });
    expect(facts.bootId).toBe(fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    expect(facts.osId).toBe(execSync(". /etc/os-release; echo $ID", { shell: "/bin/bash" }).toString().trim());
  });

  it("a Nebraska group UUID falls back to the default channel for download URLs", async () => {
    fs.writeFileSync(`${sshd.dir}/etc-update.conf`, "GROUP=9a2deb70-37be-4026-853f-bfdd6b347bbe\n");
    expect((await probeFacts(spec, probe)).group).toBe("stable");
    fs.writeFileSync(`${sshd.dir}/etc-update.conf`, "GROUP=beta\n");
  });

  it("reports no kernel config when none of the sources exists", async () => {
    expect((await probeFacts(spec, { ...probe, kernelConfigSources: ["/nope/${KERNEL}"] })).kernelConfig).toBe("");
  });

  it("read (pulumi refresh) probes the host again", async () => {
    const stale = { connection: spec, probe, kernelRelease: "4.14.81-coreos", osVersion: "1911.4.0" };
    const r = await hostFactsProvider.read!("loop-facts", stale as any);
    expect(r.props).toMatchObject({ kernelRelease: os.release(), osVersion: "3975.2.0" });
  });

  it("create fails with the reason when the host could not be probed", async () => {
    await expect(hostFactsProvider.create({ connection: spec, probe, unreachable: "loop: cannot reach root@127.0.0.1:1 after 3 attempt(s) in 7 s" })).rejects.toThrow(/cannot reach/);
  });
});
