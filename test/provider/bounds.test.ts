// Bounds of the SSH transport against servers that misbehave after the handshake: a
// server (ssh2's own, on loopback) that accepts a session but never answers `exec` or a
// port forward, and a host that sends more output than allowed (the real sshd).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { closeAllSessions, connect, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { freePort, startSshd, type TestSshd } from "./sshd";

/** An SSH server that authenticates anyone and then never answers what it is asked. */
interface SilentServer {
  port: number;
  hostKey: string;
  /** Client connections still open. */
  open(): number;
  close(): Promise<void>;
}

async function startSilentServer(dir: string): Promise<SilentServer> {
  const { Server } = require("ssh2");
  const keyFile = path.join(dir, "silent_host_key");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  let open = 0;
  const server = new Server({ hostKeys: [fs.readFileSync(keyFile)] }, (client: any) => {
    open++;
    client.on("close", () => open--);
    client.on("error", () => undefined);
    client.on("authentication", (ctx: any) => ctx.accept());
    // Sessions are accepted, their exec requests never answered; forwards never answered.
    client.on("session", (accept: any) => accept().on("exec", () => undefined));
    client.on("tcpip", () => undefined);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const pub = fs.readFileSync(`${keyFile}.pub`, "utf8").split(" ");
  return { port, hostKey: `${pub[0]} ${pub[1]}`, open: () => open, close: () => new Promise((r) => server.close(() => r())) };
}

let sshd: TestSshd;
let silent: SilentServer;
let spec: ConnectionSpec;
beforeAll(async () => {
  sshd = await startSshd();
  silent = await startSilentServer(sshd.dir);
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 2, connectAttempts: 1 };
});
afterAll(async () => {
  closeAllSessions();
  // sshd first: the silent server's close waits for its clients, which a regression could leave open.
  await sshd?.stop();
  await silent?.close();
});

const waitFor = async (cond: () => boolean, ms: number) => {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return cond();
};

describe("one deadline per step", () => {
  it("a server that accepts the session but never answers exec fails within the step's bound", async () => {
    const silentSpec = { ...spec, host: "silent", port: silent.port, hostKeys: [silent.hostKey] };
    const started = Date.now();
    await expect(runScript(silentSpec, "true", { timeoutSeconds: 1, graceSeconds: 1 })).rejects.toThrow(/^silent: step timed out after 2 s \(the host did not start the command\)/);
    expect(Date.now() - started).toBeLessThan(5000);
    // The wedged connection is dropped, not reused.
    expect(await waitFor(() => silent.open() === 0, 2000)).toBe(true);
  });

  it("a jump host that never opens the forward fails within the connect bound and is disconnected", async () => {
    const viaSilent: ConnectionSpec = { ...spec, host: "behind", jump: { address: "127.0.0.1", port: silent.port, user: "root", hostKeys: [silent.hostKey], privateKey: sshd.privateKey } };
    const started = Date.now();
    await expect(connect(viaSilent)).rejects.toThrow(/^behind: cannot reach .* through the jump host root@127\.0\.0\.1:\d+: the jump host .* did not open a channel to 127\.0\.0\.1:\d+ within 2 s/);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(await waitFor(() => silent.open() === 0, 2000)).toBe(true);
  });

  it("a jump host whose forward is refused is disconnected too (nothing keeps the process alive)", async () => {
    const closed = await freePort();
    const viaSshd: ConnectionSpec = { ...spec, host: "behind", address: "127.0.0.1", port: closed, jump: { address: "127.0.0.1", port: sshd.port, user: "root", hostKeys: [sshd.hostKey], privateKey: sshd.privateKey } };
    await expect(connect(viaSshd)).rejects.toThrow(/through the jump host/);
    const established = () => execFileSync("ss", ["-tnH", "state", "established", `( dport = :${sshd.port} )`]).toString().trim();
    expect(await waitFor(() => established() === "", 3000)).toBe(true);
  });
});

describe("output cap", () => {
  it("a host that sends more than allowed fails with a clear error", async () => {
    await expect(runScript(spec, "head -c 1000000 /dev/zero", { timeoutSeconds: 10, maxOutputBytes: 64 * 1024 })).rejects.toThrow(/^loop: step: the host sent more than 65536 bytes of output; the step was stopped/);
    // The connection is still good for the next step.
    expect((await runScript(spec, "echo ok", { timeoutSeconds: 10 })).stdout).toBe("ok\n");
  });

  it("stderr counts too", async () => {
    await expect(runScript(spec, "head -c 1000000 /dev/zero >&2", { timeoutSeconds: 10, maxOutputBytes: 64 * 1024 })).rejects.toThrow(/more than 65536 bytes/);
  });
});

