// The modules overlay against foreign state, over real SSH in a private mount namespace
// (private /etc/systemd/system and /etc/fstab, systemctl stubbed): what kmod-fleet did
// not write is refused before anything is written, and never deleted.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as fs from "fs";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { modulesOverlayProvider, type ModulesOverlayInputs } from "../../components/providers/modulesOverlay/modulesOverlay";
import { startSshd, type TestSshd } from "./sshd";
import { overlayInputs } from "./overlayInputs";

let sshd: TestSshd;
let spec: ConnectionSpec;
let root: string;
let unitFile: string;
const FOREIGN_UNIT = "# the operators own mount\n[Mount]\nWhat=/dev/vdb1\nWhere=/x\n";

beforeAll(async () => {
  sshd = await startSshd({ namespace: { stubs: { systemctl: "exit 0" }, tmpfs: ["/etc/systemd/system"], privateFiles: ["/etc/fstab"] } });
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  root = `${sshd.dir}/root`;
  const escaped = (await on(`systemd-escape --path --suffix=mount ${root}/lib/modules`)).trim();
  unitFile = `/etc/systemd/system/${escaped}`;
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});
beforeEach(async () => {
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(`${root}/lib/modules`, { recursive: true });
  await on("rm -rf /etc/systemd/system/* && : > /etc/fstab");
});

async function on(cmd: string): Promise<string> {
  return (await runScript(spec, cmd, { timeoutSeconds: 10 })).stdout;
}
const inputs = (over: Partial<ModulesOverlayInputs> = {}): ModulesOverlayInputs => overlayInputs(spec, root, over);

describe("foreign state in the overlay's way", () => {
  it("a mount unit kmod-fleet did not write is refused before anything is written, with what is there", async () => {
    await on(`printf '%s' '${FOREIGN_UNIT}' > '${unitFile}'`);
    await expect(modulesOverlayProvider.create(inputs())).rejects.toThrow(/refusing: \/etc\/systemd\/system\/\S+\.mount, a mount unit for \S+ that kmod-fleet did not write, is already there:\n {2}\| # the operators own mount/);
    expect(await on(`cat '${unitFile}'`)).toBe(FOREIGN_UNIT);
    expect(await on("ls -A /etc/systemd/system")).toBe(`${unitFile.split("/").pop()}\n`);
    expect(fs.existsSync(`${root}/opt`)).toBe(false);
  });

  it("an fstab line for the modules dir kmod-fleet did not write is refused, the file untouched", async () => {
    const line = `/dev/vdb1 ${root}/lib/modules ext4 defaults 0 0`;
    await on(`echo '${line}' > /etc/fstab`);
    await expect(modulesOverlayProvider.create(inputs({ persistence: "fstab" }))).rejects.toThrow(/refusing: \/etc\/fstab already mounts \S+ with a line kmod-fleet did not write:\n {2}\| \/dev\/vdb1/);
    expect(await on("cat /etc/fstab")).toBe(`${line}\n`);
    expect(await on("ls -A /etc/systemd/system")).toBe("");
  });

  it("delete never removes a mount unit kmod-fleet did not write", async () => {
    await on(`printf '%s' '${FOREIGN_UNIT}' > '${unitFile}'`);
    await modulesOverlayProvider.delete!("id", { ...inputs(), mounted: false, persisted: false, createdDirs: [], owned: ["unit", "dropin", "mount"] });
    expect(await on(`cat '${unitFile}'`)).toBe(FOREIGN_UNIT);
  });

  it("delete removes only what create recorded as written", async () => {
    await on(`mkdir -p /etc/systemd/system/systemd-modules-load.service.d && echo '# Written by kmod-fleet' > /etc/systemd/system/systemd-modules-load.service.d/kmod-fleet-overlay.conf && echo '# Written by kmod-fleet' > '${unitFile}'`);
    await modulesOverlayProvider.delete!("id", { ...inputs(), mounted: false, persisted: false, createdDirs: [], owned: ["dropin"] });
    expect(await on(`cat '${unitFile}'`)).toBe("# Written by kmod-fleet\n");
    expect(await on("ls -A /etc/systemd/system/systemd-modules-load.service.d 2>/dev/null || echo gone")).toBe("gone\n");
  });
});
