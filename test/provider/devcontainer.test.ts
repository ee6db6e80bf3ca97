// Download and verification of the developer container over real SSH, with a real gpg
// signature by a test key and the test fleet's release server on loopback.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFileSync } from "child_process";
import { closeAllSessions, runScript, type ConnectionSpec } from "../../host/ssh/session";
import { developerContainerProvider, type DeveloperContainerInputs } from "../../components/providers/developerContainer/developerContainer";
import { ensureSigningKey, type SigningKey } from "../../dev/testbed/signingKey";
import { publishRelease, startReleaseServer, type ReleaseServer } from "../../dev/testbed/releaseServer";
import { startSshd, type TestSshd } from "./sshd";

let sshd: TestSshd;
let spec: ConnectionSpec;
let server: ReleaseServer;
let key: SigningKey;
let otherKey: SigningKey;
let work: string;
let inputs: DeveloperContainerInputs;
const payload = "pretend this is a developer container image\n".repeat(1000);

beforeAll(async () => {
  sshd = await startSshd();
  spec = { host: "loop", address: "127.0.0.1", port: sshd.port, user: "root", privateKey: sshd.privateKey, hostKeys: [sshd.hostKey], connectTimeoutSeconds: 5, connectAttempts: 1 };
  work = fs.mkdtempSync(path.join(os.tmpdir(), "kmod-fleet-devcontainer-"));
  key = await ensureSigningKey(path.join(work, "gnupg"));
  otherKey = await ensureSigningKey(path.join(work, "gnupg-other"), "someone else <other@kmod-fleet.invalid>");
  fs.writeFileSync(path.join(work, "image.bin"), payload);
  execFileSync("bzip2", ["-k", path.join(work, "image.bin")]);
  for (const version of ["100.0.0", "100.0.1"]) {
    await publishRelease({ root: path.join(work, "www"), group: "stable", board: "amd64-usr", version, kernelRelease: "6.1.0-1-test-amd64", image: path.join(work, "image.bin.bz2"), key });
  }
  server = await startReleaseServer({ root: path.join(work, "www") });
  inputs = {
    connection: spec,
    osVersion: "100.0.0",
    imageUrl: `${server.url}/stable/amd64-usr/100.0.0/flatcar_developer_container.bin.bz2`,
    signatureUrl: `${server.url}/stable/amd64-usr/100.0.0/flatcar_developer_container.bin.bz2.sig`,
    signingKey: key.publicKeyArmored,
    signingKeyFingerprint: key.fingerprint,
    cacheDir: path.join(work, "cache"),
    commandTimeoutSeconds: 60,
  };
});
afterAll(async () => {
  closeAllSessions();
  await server?.close();
  await sshd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Everything under the cache folder, as the host sees it. */
async function cacheListing(): Promise<string[]> {
  const r = await runScript(spec, `cd ${inputs.cacheDir} 2>/dev/null && find . -mindepth 1 | sort`, { timeoutSeconds: 10 });
  return r.stdout.split("\n").filter(Boolean);
}

describe("the developer container", () => {
  it("is downloaded, verified against the pinned key and decompressed", async () => {
    const { id, outs } = await developerContainerProvider.create(inputs);
    expect(id).toBe("loop:devcontainer:100.0.0");
    expect(outs).toMatchObject({ present: true, imagePath: `${inputs.cacheDir}/100.0.0/developer_container.bin`, signedBy: key.fingerprint });
    expect(fs.readFileSync(outs.imagePath, "utf8")).toBe(payload);
    expect(await cacheListing()).toEqual(["./100.0.0", "./100.0.0/developer_container.bin", "./100.0.0/verified"]);
  });

  it("is downloaded once per version", async () => {
    const before = server.requests.length;
    await developerContainerProvider.create(inputs);
    expect(server.requests.length).toBe(before);
  });

  it("read sees it, and sees it gone (drift)", async () => {
    const outs = (await developerContainerProvider.create(inputs)).outs;
    expect((await developerContainerProvider.read!("id", outs)).props.present).toBe(true);
    fs.rmSync(outs.imagePath);
    const refreshed = (await developerContainerProvider.read!("id", outs)).props;
    expect(refreshed.present).toBe(false);
    expect((await developerContainerProvider.diff!("id", refreshed, inputs)).changes).toBe(true);
    // up repairs it
    await developerContainerProvider.update!("id", refreshed, inputs);
    expect(fs.readFileSync(outs.imagePath, "utf8")).toBe(payload);
  });

  const v1 = (over: Partial<DeveloperContainerInputs> = {}): DeveloperContainerInputs => ({
    ...inputs,
    osVersion: "100.0.1",
    imageUrl: inputs.imageUrl.replace("100.0.0", "100.0.1"),
    signatureUrl: inputs.signatureUrl.replace("100.0.0", "100.0.1"),
    ...over,
  });

  for (const [mode, expected] of [
    ["corrupt-image", /BAD SIGNATURE: .* does not verify against the pinned key; the download was deleted/],
    ["bad-signature", /BAD SIGNATURE/],
    ["missing", /download failed: .*100\.0\.1/],
  ] as const) {
    it(`a ${mode} release is refused and leaves nothing behind`, async () => {
      server.setMode(mode, "100.0.1");
      try {
        await expect(developerContainerProvider.create(v1())).rejects.toThrow(expected);
        expect(await cacheListing()).not.toContain("./100.0.1");
        expect((await cacheListing()).filter((f) => f.includes(".download"))).toEqual([]);
      } finally {
        server.setMode("ok", "100.0.1");
      }
    });
  }

  it("an image signed by another key is refused", async () => {
    await expect(developerContainerProvider.create(v1({ signingKey: otherKey.publicKeyArmored, signingKeyFingerprint: otherKey.fingerprint }))).rejects.toThrow(/BAD SIGNATURE/);
    expect(await cacheListing()).not.toContain("./100.0.1");
  });

  it("the signer must be the pinned fingerprint, even when the key block holds more keys", async () => {
    const both = key.publicKeyArmored + "\n" + otherKey.publicKeyArmored;
    await expect(developerContainerProvider.create(v1({ signingKey: both, signingKeyFingerprint: otherKey.fingerprint }))).rejects.toThrow(/signed by .*, not by the pinned key/);
  });

  it("the error names the host and the step", async () => {
    server.setMode("bad-signature", "100.0.1");
    try {
      await expect(developerContainerProvider.create(v1())).rejects.toThrow(/^loop: fetching the developer container for OS 100\.0\.1 failed \(exit 3\)/);
    } finally {
      server.setMode("ok", "100.0.1");
    }
  });

  it("a new OS version replaces the image; delete removes it", async () => {
    const old = (await developerContainerProvider.create(inputs)).outs;
    expect((await developerContainerProvider.diff!("id", old, v1())).replaces).toEqual(["osVersion", "imageUrl", "signatureUrl"]);
    const next = (await developerContainerProvider.create(v1())).outs;
    await developerContainerProvider.delete!("id", old);
    expect(await cacheListing()).toEqual(["./100.0.1", "./100.0.1/developer_container.bin", "./100.0.1/verified"]);
    await developerContainerProvider.delete!("id", next);
    expect(fs.existsSync(inputs.cacheDir)).toBe(false);
  });

  it("a new signing key verifies the cached image again (and refuses it when it does not verify)", async () => {
    await developerContainerProvider.create(inputs);
    await expect(developerContainerProvider.create({ ...inputs, signingKey: otherKey.publicKeyArmored, signingKeyFingerprint: otherKey.fingerprint })).rejects.toThrow(/BAD SIGNATURE/);
    // The image verified with the old key is still there, still the old resource's.
    expect(await cacheListing()).toEqual(["./100.0.0", "./100.0.0/developer_container.bin", "./100.0.0/verified"]);
  });

  it("the replaced resource's delete leaves the image its replacement claimed", async () => {
    const old = (await developerContainerProvider.create(inputs)).outs;
    const news = { ...inputs, signingKey: key.publicKeyArmored + "\n" + otherKey.publicKeyArmored };
    expect((await developerContainerProvider.diff!("id", old, news)).replaces).toEqual(["signingKey"]);
    const before = server.requests.length;
    const next = (await developerContainerProvider.create(news)).outs;
    expect(server.requests.length).toBeGreaterThan(before); // verified again with the new key
    await developerContainerProvider.delete!("id", old);
    expect(fs.readFileSync(next.imagePath, "utf8")).toBe(payload);
    await developerContainerProvider.delete!("id", next);
    expect(fs.existsSync(inputs.cacheDir)).toBe(false);
  });

  it("a refused first image leaves no cache folder behind (nothing in state would remove it)", async () => {
    server.setMode("bad-signature", "100.0.1");
    try {
      await expect(developerContainerProvider.create(v1())).rejects.toThrow(/BAD SIGNATURE/);
      expect(fs.existsSync(inputs.cacheDir)).toBe(false);
    } finally {
      server.setMode("ok", "100.0.1");
    }
  });
});
