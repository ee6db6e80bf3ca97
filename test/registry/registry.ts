// A real OCI registry on loopback for the registry store's tests: Debian's `docker-registry`
// (the CNCF distribution registry) with htpasswd authentication, its storage and config in
// one temp folder, on a free port. Nothing of the machine's own registry service is used.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { freePort } from "../provider/sshd";

export const REGISTRY_BIN = "/usr/bin/docker-registry";

export interface TestRegistry {
  url: string;
  username: string;
  password: string;
  /** Where the registry keeps its files (to damage a blob as a failing disk would). */
  storage: string;
  /** The file that holds a blob's bytes in the registry's storage. */
  blobFile(sha256: string): string;
  stop(): Promise<void>;
}

/** Fails with what to install when a tool the tests need is missing. */
export function requireTools(): void {
  const missing: string[] = [];
  if (!fs.existsSync(REGISTRY_BIN)) missing.push(`${REGISTRY_BIN} (apt-get install docker-registry)`);
  if (spawnSync("htpasswd", ["-h"]).error) missing.push("htpasswd (apt-get install apache2-utils)");
  if (missing.length) throw new Error(`the registry store tests run a real OCI registry on loopback and need: ${missing.join(", ")}`);
}

function bcryptLine(username: string, password: string): string {
  // -i: the password comes on stdin, not on the command line.
  const r = spawnSync("htpasswd", ["-niB", username], { input: password });
  if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
  return r.stdout.toString().trim();
}

async function waitForRegistry(url: string, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${fs.readFileSync(log, "utf8")}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 401) return; // up, and asking for a login
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer at ${url} within ${timeoutMs} ms: ${fs.readFileSync(log, "utf8")}`);
}

export async function startRegistry(): Promise<TestRegistry> {
  requireTools();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-registry-"));
  const port = await freePort();
  const username = "kmod-fleet";
  const password = `pw-${require("crypto").randomBytes(12).toString("hex")}`;
  const storage = path.join(dir, "storage");
  fs.writeFileSync(path.join(dir, "htpasswd"), bcryptLine(username, password) + "\n", { mode: 0o600 });
  const config = [
    "version: 0.1",
    "log: { level: warn, accesslog: { disabled: true } }",
    `storage: { filesystem: { rootdirectory: ${storage} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}", secret: "${require("crypto").randomBytes(16).toString("hex")}" }`,
    `auth: { htpasswd: { realm: kmod-fleet-test, path: ${path.join(dir, "htpasswd")} } }`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "config.yml"), config);
  const log = path.join(dir, "registry.log");
  const out = fs.openSync(log, "a");
  const child = spawn(REGISTRY_BIN, ["serve", path.join(dir, "config.yml")], { stdio: ["ignore", out, out] });
  fs.closeSync(out);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForRegistry(url, child, log, 15_000);
  } catch (e) {
    await stop();
    throw e;
  }
  const blobFile = (sha: string) => path.join(storage, "docker/registry/v2/blobs/sha256", sha.slice(0, 2), sha, "data");
  return { url, username, password, storage, blobFile, stop };
}
