// The release server and the signing key on loopback, with a tiny payload (no VMs).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishRelease, ReleaseServer, startReleaseServer, writeMode } from "../../dev/testbed/releaseServer";
import { ensureSigningKey, SigningKey, verifyDetached } from "../../dev/testbed/signingKey";
import { haveCommand } from "../../dev/testbed/exec";
import { publishNext, readChannel, startChannel } from "../../dev/testbed/channel";
import type { TestKernel } from "../../dev/testbed/recipe";

describe("release server", () => {
  let dir: string;
  let key: SigningKey;
  let srv: ReleaseServer;
  const modeFile = () => path.join(dir, "modes.json");
  const channelFile = () => path.join(dir, "channel.json");
  const url = (v: string) => `${srv.url}/stable/amd64-usr/${v}/flatcar_developer_container.bin.bz2`;

  beforeAll(async () => {
    if (!haveCommand("gpg")) throw new Error("the release server tests need gpg (Debian package gnupg)");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "testbed-rs-"));
    key = await ensureSigningKey(path.join(dir, "gnupg"));
    fs.writeFileSync(path.join(dir, "payload"), "tiny developer container\n".repeat(100));
    for (const v of ["1.0.0", "1.0.1"]) {
      await publishRelease({ root: path.join(dir, "root"), group: "stable", board: "amd64-usr", version: v, kernelRelease: `6.1.0-${v.split(".")[2]}-test-amd64`, image: path.join(dir, "payload"), key });
    }
    startChannel(channelFile(), "stable", "amd64-usr", { release: "6.1.0-0-test-amd64", osVersion: "1.0.0" } as TestKernel);
    srv = await startReleaseServer({ root: path.join(dir, "root"), modeFile: modeFile(), requestLog: path.join(dir, "requests.log"), channelFile: channelFile() });
  });

  afterAll(async () => {
    await srv?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function verify(version: string): Promise<boolean> {
    const img = await fetch(url(version));
    const sig = await fetch(`${url(version)}.sig`);
    if (img.status !== 200 || sig.status !== 200) return false;
    fs.writeFileSync(path.join(dir, "i"), Buffer.from(await img.arrayBuffer()));
    fs.writeFileSync(path.join(dir, "s"), Buffer.from(await sig.arrayBuffer()));
    return (await verifyDetached(key.publicKeyArmored, path.join(dir, "i"), path.join(dir, "s"))).ok;
  }

  it("serves signed images that verify with the test key only", async () => {
    expect(await verify("1.0.0")).toBe(true);
    const other = await ensureSigningKey(path.join(dir, "other-gnupg"));
    const r = await verifyDetached(other.publicKeyArmored, path.join(dir, "i"), path.join(dir, "s"));
    expect(r.ok).toBe(false);
  });

  it("switches modes per version, through the mode file another process writes", async () => {
    writeMode(modeFile(), "corrupt-image", "1.0.1");
    expect(await verify("1.0.0")).toBe(true);
    expect(await verify("1.0.1")).toBe(false);
    writeMode(modeFile(), "bad-signature");
    expect(await verify("1.0.0")).toBe(false);
    writeMode(modeFile(), "missing");
    expect((await fetch(url("1.0.0"))).status).toBe(404);
    writeMode(modeFile(), "ok");
    expect(await verify("1.0.1")).toBe(true);
    expect(() => writeMode(modeFile(), "nonsense" as never)).toThrow(/unknown release server mode/);
  });

  it("answers HEAD, refuses other methods and paths outside its root, and logs requests", async () => {
    const head = await fetch(url("1.0.0"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get("content-length"))).toBe(fs.statSync(path.join(dir, "payload")).size);
    expect((await fetch(url("1.0.0"), { method: "POST" })).status).toBe(405);
    expect((await fetch(`${srv.url}/stable/amd64-usr/1.0.0/.other-data`)).status).toBe(404);
    expect(srv.requests.some((r) => r.status === 405)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const logged = fs.readFileSync(path.join(dir, "requests.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(logged.length).toBe(srv.requests.length);
    expect(logged[0]).toMatchObject({ method: "GET", status: 200, mode: "ok" });
  });

  it("serves the channel's current release, which moves when the next one is published, with its version and kernel", async () => {
    const text = async (p: string) => (await fetch(`${srv.url}/stable/amd64-usr/${p}`)).text();
    expect(await text("current/version.txt")).toMatch(/^FLATCAR_VERSION=1\.0\.0$/m);
    expect(await text("1.0.1/flatcar_production_image_contents.txt")).toContain("./usr/lib/modules/6.1.0-1-test-amd64/");
    const kernels = [{ release: "6.1.0-0-test-amd64", osVersion: "1.0.0" }, { release: "6.1.0-1-test-amd64", osVersion: "1.0.1" }] as TestKernel[];
    expect(publishNext(channelFile(), kernels)).toMatchObject({ version: "1.0.1", kernelRelease: "6.1.0-1-test-amd64" });
    expect(await text("current/version.txt")).toMatch(/^FLATCAR_VERSION=1\.0\.1$/m);
    expect(await text("current/flatcar_production_image_contents.txt")).toContain("./usr/lib/modules/6.1.0-1-test-amd64/");
    expect(readChannel(channelFile())?.published.map((p) => p.version)).toEqual(["1.0.0", "1.0.1"]);
    expect(() => publishNext(channelFile(), kernels)).toThrow(/already serves the newest test release \(1\.0\.1\)/);
    // Another group's current is not this channel's.
    expect((await fetch(`${srv.url}/beta/amd64-usr/current/version.txt`)).status).toBe(404);
  });
});
