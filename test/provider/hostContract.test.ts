// The host contract over real SSH: every verb of every host script (components/scripts/
// verbs.ts), run with each of its checked variables set to bad values, refuses with the
// same message, exit 2, before it takes the host lock or touches anything. sshd runs in a
// private mount namespace whose commands that change a host are stubs that record calls.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { hostStep } from "../../host/hostStep";
import * as scripts from "../../components/providers/scripts";
import type { HostScript } from "../../host/scripts";
import { HOST_SCRIPTS, type EnvSpec, type ScriptName } from "../../host/scripts/verbs";
import { VALUE_RULES, type ValueKind } from "../../host/scripts/rules";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let root: string;
const RECORDED = ["systemctl", "modprobe", "depmod", "systemd-nspawn", "curl", "mount", "umount", "gpg", "tar"];

const BAD: Record<ValueKind, string[]> = {
  path: ["//x", "../x", "x/y", "/x y", "/x/../y", "/x/", "/x,y", ""],
  set: ["a.b", "a+b", "a~b", "-x", "", "A"],
  plain: ["a/b", "..", "a b", "x".repeat(200), "-x", ""],
  module: ["-r", "a.b", "a+b", "a/b", "a*"],
  hex: ["ABC", "../x", "a b", ""],
};

/** Good values of every variable of the table, in folders of the test's root. */
function goodValues(): Record<string, string> {
  return {
    KERNEL: "6.1.0-1-test", SET: "s", VERSION: "3975.2.0", ARTIFACT: "abc123", MODULES: "m1 m2", OLD_MODULES: "m1",
    WORK_DIR: `${root}/work`, MODULES_DIR: `${root}/modules`, UPPER_DIR: `${root}/upper`, OLD_UPPER_DIR: `${root}/old-upper`, OLD_WORK_DIR: `${root}/old-work`,
    GATE_DIR: `${root}/work/reboot-gate`, UPDATE_CONF: `${root}/update.conf`, SETS: "s", KERNEL_IMAGES: `${root}/boot/a ${root}/boot/b`,
    CACHE_DIR: `${root}/cache`, IMAGE: `${root}/cache/3975.2.0/developer_container.bin`, UPLOAD: `${root}/work/uploads/s-k.1`, SOURCE_ARCHIVE: `${root}/work/uploads/s.tar.gz`,
  };
}
const textValue = (e: EnvSpec) => (e.name === "PERSISTENCE" || e.name === "OLD_PERSISTENCE" ? "fstab" : e.name === "RELOAD" ? "true" : "x");

/** Every file and folder under the root, with each file's content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, name);
    out[name] = fs.statSync(p).isDirectory() ? "dir" : fs.readFileSync(p, "utf8");
  }
  return out;
}
const calls = () => (fs.existsSync(`${sshd.dir}/calls`) ? fs.readFileSync(`${sshd.dir}/calls`, "utf8") : "");

beforeAll(async () => {
  sshd = await startSshd({
    namespace: {
      stubs: Object.fromEntries(RECORDED.map((c) => [c, "exit 0"])),
      tmpfs: ["/run/lock", "/etc/systemd/system", "/etc/modules-load.d", "/etc/modprobe.d", "/sys/module"],
      privateFiles: ["/etc/fstab"],
    },
  });
  for (const name of RECORDED) fs.writeFileSync(`${sshd.dir}/stubs/${name}`, `#!/bin/bash\necho "${name} $*" >> ${sshd.dir}/calls\n`, { mode: 0o755 });
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  root = fs.mkdtempSync(`${sshd.dir}/root-`);
  // What a host has: an install, a build's job folder, a cached image, an upload.
  for (const d of ["modules/6.1.0-1-test/extra/s", "work/jobs/6.1.0-1-test/s", "work/uploads/s-k.1", "cache/3975.2.0", "upper", "x"]) fs.mkdirSync(`${root}/${d}`, { recursive: true });
  fs.writeFileSync(`${root}/modules/6.1.0-1-test/extra/s/m1.ko`, "module");
  fs.writeFileSync(`${root}/cache/3975.2.0/verified`, "size=1\n");
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

const scriptOf = (name: ScriptName): HostScript => Object.values(scripts).find((s) => typeof s === "object" && s.name === name) as HostScript;
const verbs = Object.entries(HOST_SCRIPTS).flatMap(([script, vs]) => Object.entries(vs).map(([verb, v]) => ({ script: script as ScriptName, verb, env: v.env as readonly EnvSpec[] })));

describe("every verb of every host script refuses bad values alike", () => {
  it("the table covers every script, and only the facts have no value to check", () => {
    expect(new Set(verbs.map((v) => v.script))).toEqual(new Set(["facts", "overlay", "devcontainer", "build", "install", "load", "gate"]));
    expect(verbs.filter((v) => v.env.every((e) => e.kind === "text")).map((v) => `${v.script} ${v.verb}`)).toEqual(["facts probe"]);
  });

  for (const { script, verb, env } of verbs.filter((v) => v.env.some((e) => e.kind !== "text"))) {
    it(`${script}.sh ${verb}: ${env.filter((e) => e.kind !== "text").map((e) => e.name).join(", ")}`, async () => {
      const before = snapshot(root);
      fs.rmSync(`${sshd.dir}/calls`, { force: true });
      const good = goodValues();
      const base = Object.fromEntries(env.map((e) => [e.name, e.kind === "text" ? textValue(e) : good[e.name]]));
      for (const e of env.filter((x) => x.kind !== "text")) {
        const kind = e.kind as ValueKind;
        // In a list, a space separates two words, each checked on its own.
        const bads = BAD[kind].filter((b) => !(e.list && (b === "" || b.includes(" "))));
        for (const bad of bads) {
          // A list with one bad word after a good one.
          const value = e.list ? `${good[e.name].split(" ")[0]} ${bad}` : bad;
          const refused = await hostStep(spec, "the step", scriptOf(script), verb as never, { ...base, [e.name]: value } as never, 120).then(
            () => "accepted",
            (err: Error) => err.message,
          );
          // The step's error ends with the refusal (this machine's login shell may print a line of its own first).
          const lines = refused.split("\n");
          expect([lines[0], lines.at(-1)], `${e.name}=${JSON.stringify(value)}`).toEqual([
            "loop: the step failed (exit 2):",
            `refusing the ${e.what} '${bad}' (${e.name}): expected ${VALUE_RULES[kind].expected}`,
          ]);
        }
      }
      expect(snapshot(root)).toEqual(before);
      expect(calls()).toBe("");
      // Refused before the host lock: no lock file either.
      expect((await runScript(spec, "ls -A /run/lock", { timeoutSeconds: 10 })).stdout).toBe("");
      // Some 40 steps, one after another, on a machine that may be busy.
    }, 600_000);
  }
});
