// A real OpenSSH server on loopback for the provider tests: its own host key, a throwaway
// authorized key for root, no PAM, no passwords. Everything lives in one temp folder.
import { spawn, execFileSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export interface TestSshd {
  port: number;
  dir: string;
  /** "ssh-ed25519 AAAA..." as a stack config pins it. */
  hostKey: string;
  /** The client key authorized for root. */
  privateKey: string;
  /** A second key, encrypted with `passphrase`, also authorized. */
  encryptedKey: string;
  passphrase: string;
  /** What sshd has logged so far (stderr): one "Accepted publickey" line per login. */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

/**
 * A throwaway root for the host scripts: sshd (and every session) runs in a private mount
 * namespace where `stubs` (command name -> bash script) shadow the machine's commands (a
 * root session's PATH starts with /usr/local/sbin), each `tmpfs` folder is empty and
 * private, and each `privateFiles` file is a private copy. Nothing a test does there
 * reaches this machine: mounts, /etc/systemd/system, /etc/fstab, /sys/module.
 */
export interface SshdNamespace {
  stubs?: Record<string, string>;
  tmpfs?: string[];
  privateFiles?: string[];
  /** Files shown in place of the machine's (target -> this file). */
  bindFiles?: Record<string, string>;
}

/** The namespace with a private /etc/shadow in which root's password is `password`. */
function withRootPassword(dir: string, ns: SshdNamespace, password: string): SshdNamespace {
  const hash = execFileSync("openssl", ["passwd", "-6", "-stdin"], { input: password }).toString().trim();
  const shadow = path.join(dir, "shadow");
  const lines = fs.readFileSync("/etc/shadow", "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("root:"));
  fs.writeFileSync(shadow, [`root:${hash}:19000:0:99999:7:::`, ...lines, ""].join("\n"), { mode: 0o600 });
  return { ...ns, bindFiles: { ...(ns.bindFiles ?? {}), "/etc/shadow": shadow } };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function keygen(file: string, passphrase = ""): void {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "kmod-fleet-test", "-f", file]);
}

async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("data", (d) => {
        c.destroy();
        resolve(d.toString().startsWith("SSH-"));
      });
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function namespaceSetup(dir: string, ns: SshdNamespace): string {
  const stubs = path.join(dir, "stubs");
  fs.mkdirSync(stubs);
  for (const [name, script] of Object.entries(ns.stubs ?? {})) fs.writeFileSync(path.join(stubs, name), `#!/bin/bash\n${script}\n`, { mode: 0o755 });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = ["set -eu", `mount --bind ${q(stubs)} /usr/local/sbin`];
  for (const d of ns.tmpfs ?? []) lines.push(`mkdir -p ${q(d)}`, `mount -t tmpfs kmod-fleet-test ${q(d)}`);
  for (const [target, file] of Object.entries(ns.bindFiles ?? {})) lines.push(`mount --bind ${q(file)} ${q(target)}`);
  (ns.privateFiles ?? []).forEach((f, i) => {
    const copy = path.join(dir, `private-${i}`);
    lines.push(`cp ${q(f)} ${q(copy)} 2>/dev/null || : > ${q(copy)}`, `[ -e ${q(f)} ] || : > ${q(f)}`, `mount --bind ${q(copy)} ${q(f)}`);
  });
  return lines.join("\n");
}

/**
 * `rootPassword`: root may also log in with this password (password authentication on,
 * root's hash set in a private copy of /etc/shadow inside the namespace).
 */
export async function startSshd(opts: { namespace?: SshdNamespace; rootPassword?: string } = {}): Promise<TestSshd> {
  if (!fs.existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: the provider tests run a real OpenSSH server on loopback; install it with \`apt-get install openssh-server\` (.ci/run does)`);
  }
  if (process.getuid?.() !== 0) throw new Error("the provider tests start sshd for root logins and must run as root");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-sshd-"));
  keygen(path.join(dir, "host_ed25519"));
  keygen(path.join(dir, "client"));
  const passphrase = "correct horse battery staple";
  keygen(path.join(dir, "client_encrypted"), passphrase);
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(path.join(dir, "client.pub"), "utf8") + fs.readFileSync(path.join(dir, "client_encrypted.pub"), "utf8"));
  const port = await freePort();
  fs.writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_ed25519`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      opts.rootPassword ? "PermitRootLogin yes" : "PermitRootLogin prohibit-password",
      `PasswordAuthentication ${opts.rootPassword ? "yes" : "no"}`,
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  fs.mkdirSync("/run/sshd", { recursive: true });
  const sshdArgs = ["-D", "-e", "-f", path.join(dir, "sshd_config")];
  const namespace = opts.rootPassword ? withRootPassword(dir, opts.namespace ?? {}, opts.rootPassword) : opts.namespace;
  // unshare and bash exec into sshd: the child is sshd itself, and the namespace ends with it.
  const child: ChildProcess = namespace
    ? spawn("unshare", ["--mount", "--propagation", "private", "bash", "-c", `${namespaceSetup(dir, namespace)}\nexec ${SSHD} "$@"`, "sshd", ...sshdArgs], { stdio: ["ignore", "ignore", "pipe"] })
    : spawn(SSHD, sshdArgs, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (d) => (log += d.toString()));
  try {
    await waitForBanner(port, 10_000);
  } catch (e: any) {
    child.kill();
    throw new Error(`${e.message}\n${log}`);
  }
  const pub = fs.readFileSync(path.join(dir, "host_ed25519.pub"), "utf8").trim().split(" ");
  return {
    port,
    dir,
    hostKey: `${pub[0]} ${pub[1]}`,
    privateKey: fs.readFileSync(path.join(dir, "client"), "utf8"),
    encryptedKey: fs.readFileSync(path.join(dir, "client_encrypted"), "utf8"),
    passphrase,
    log: () => log,
    async stop() {
      child.kill();
      await new Promise((r) => child.once("exit", r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
