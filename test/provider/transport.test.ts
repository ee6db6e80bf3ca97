// The SSH transport against a real OpenSSH server on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as net from "net";
import { closeAllSessions, connect, runScript, uploadBytes, fingerprintOf, type ConnectionSpec } from "../../host/ssh/session";
import { freePort, startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
beforeAll(async () => {
  sshd = await startSshd();
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 2 };
});
afterAll(async () => {
  closeAllSessions();
  await sshd?.stop();
});

describe("password authentication", () => {
  let withPassword: TestSshd;
  beforeAll(async () => {
    withPassword = await startSshd({ rootPassword: "a password: with 'quotes' and $signs" });
  });
  afterAll(async () => withPassword?.stop());

  it("logs in with the password, and a wrong one is refused at once, naming the host and not the password", async () => {
    const base = { host: "pw", address: "127.0.0.1", port: withPassword.port, user: "root", hostKeys: [withPassword.hostKey], connectTimeoutSeconds: 5, connectAttempts: 3 };
    const r = await runScript({ ...base, password: "a password: with 'quotes' and $signs" }, "id -un", { timeoutSeconds: 10 });
    expect(r.stdout).toBe("root\n");
    const started = Date.now();
    const err = await connect({ ...base, password: "wrong" }).catch((e) => e);
    expect(String(err.message)).toMatch(/^pw: authentication failed for root@127\.0\.0\.1:\d+/);
    expect(String(err.message)).not.toContain("wrong");
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("connecting", () => {
  it("works with the pinned host key", async () => {
    const r = await runScript(spec, "echo hello from $(id -un)", { timeoutSeconds: 10 });
    expect(r).toMatchObject({ code: 0, stdout: "hello from root\n" });
  });

  it("works with the host key's SHA256 fingerprint pinned", async () => {
    const blob = Buffer.from(sshd.hostKey.split(" ")[1], "base64");
    const ssh = await connect({ ...spec, hostKeys: [fingerprintOf(blob)] });
    ssh.dispose();
  });

  it("works with an encrypted key and its passphrase", async () => {
    const ssh = await connect({ ...spec, privateKey: sshd.encryptedKey, passphrase: sshd.passphrase });
    ssh.dispose();
  });

  it("refuses a host whose key is not the pinned one, without retrying", async () => {
    const other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";
    const started = Date.now();
    await expect(connect({ ...spec, hostKeys: [other], connectAttempts: 3 })).rejects.toThrow(/^loop: host key mismatch: root@127\.0\.0\.1:\d+ presented SHA256:\S+, but the pinned key is SHA256:\S+\. Refusing to connect/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("never puts the private key in an error", async () => {
    const wrongKey = sshd.encryptedKey; // without its passphrase it cannot be used
    const err = await connect({ ...spec, privateKey: wrongKey, connectAttempts: 1 }).catch((e) => e);
    expect(String(err.message)).toMatch(/^loop: /);
    expect(String(err.message)).not.toContain("PRIVATE KEY");
  });

  it("fails fast on a closed port, naming the host and the attempts", async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(connect({ ...spec, port, connectAttempts: 2 })).rejects.toThrow(new RegExp(`^loop: cannot reach root@127\\.0\\.0\\.1:${port} after 2 attempt\\(s\\)`));
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("gives up within its timeout on a host that accepts TCP but never answers", async () => {
    // A black hole: the connection opens, no SSH banner ever comes.
    const sockets: net.Socket[] = [];
    const hole = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => hole.listen(0, "127.0.0.1", r));
    const port = (hole.address() as net.AddressInfo).port;
    const started = Date.now();
    try {
      await expect(connect({ ...spec, port, connectTimeoutSeconds: 2, connectAttempts: 2 })).rejects.toThrow(/cannot reach .* after 2 attempt\(s\)/);
      // 2 attempts x (2 s + 2 s guard) + 1 s backoff at most.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      sockets.forEach((s) => s.destroy());
      hole.close();
    }
  });
});

describe("running scripts", () => {
  it("passes the environment quoted", async () => {
    const r = await runScript(spec, 'printf "%s|%s" "$A" "$B"', { env: { A: "it's $HOME", B: "two\nlines" }, timeoutSeconds: 10 });
    expect(r.stdout).toBe("it's $HOME|two\nlines");
  });

  it("reports the exit code and stderr", async () => {
    const r = await runScript(spec, "echo oops >&2; exit 7", { timeoutSeconds: 10 });
    expect(r).toMatchObject({ code: 7, stderr: "oops\n" });
  });

  it("stops a script at its timeout", async () => {
    const started = Date.now();
    await expect(runScript(spec, "sleep 60", { timeoutSeconds: 2 })).rejects.toThrow(/^loop: step timed out after 2 s/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("streams lines as they come", async () => {
    const lines: string[] = [];
    await runScript(spec, "for i in 1 2 3; do echo line $i; done", { timeoutSeconds: 10, onLine: (l) => lines.push(l) });
    expect(lines).toEqual(["line 1", "line 2", "line 3"]);
  });

  it("reuses one connection for many commands", async () => {
    for (let i = 0; i < 5; i++) await runScript(spec, "true", { timeoutSeconds: 10 });
    // Six commands so far in this file, one TCP connection to sshd.
    const r = await runScript(spec, `ss -tn state established '( sport = :${sshd.port} )' | tail -n +2 | wc -l`, { timeoutSeconds: 10 });
    expect(Number(r.stdout.trim())).toBe(1);
  });

  it("uploads bytes as root-only files", async () => {
    const dest = `${sshd.dir}/upload/sub/file.bin`;
    await uploadBytes(spec, Buffer.from([0, 1, 2, 255]), dest, 10);
    const r = await runScript(spec, `od -An -tu1 ${dest}; stat -c %a ${dest}`, { timeoutSeconds: 10 });
    expect(r.stdout.replace(/\s+/g, " ").trim()).toBe("0 1 2 255 600");
  });
});
