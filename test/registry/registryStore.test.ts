// The artifact store on an OCI registry, against a real registry with authentication on
// (Debian's docker-registry on loopback, started here) through the real oras CLI.
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryArtifactStore } from "../../artifacts/registryStore";
import { hostPullPlan } from "../../artifacts/hostPull";
import { ANNOTATION, tagFor } from "../../artifacts/ociArtifact";
import { ORAS_ENV, orasBinary, type RegistryAccess } from "../../artifacts/oras";
import type { ArtifactManifest } from "../../artifacts/store";
import { startRegistry, type TestRegistry } from "./registry";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const ko = (text: string) => Buffer.from(`\x7fELF fake module ${text}`);
const key = { kernelRelease: "6.1.0-57-cloud-amd64", arch: "x86_64", set: "kmod-pair", sourceIdentity: "git:abc123" };

function manifestFor(files: Record<string, Buffer>, k = key): ArtifactManifest {
  return {
    ...k,
    builtOn: "h1",
    builtAt: "2026-11-30T00:00:00Z",
    modules: Object.entries(files).map(([name, b]) => ({ name, sha256: sha(b), vermagic: `${k.kernelRelease} SMP preempt mod_unload modversions`, srcversion: "ABCDEF0123456789ABCDEF0", size: b.length })),
  };
}

let registry: TestRegistry;
let dir: string;
let argvLog: string;
let access: RegistryAccess;
const savedOras = process.env[ORAS_ENV];

beforeAll(async () => {
  const oras = orasBinary();
  if (!oras) throw new Error(`the registry store tests need the oras CLI: run \`npm run oras:toolchain\` (builds .cache/oras/bin/oras from Go modules) or put oras on PATH`);
  registry = await startRegistry();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "registry-store-"));
  // Every oras command line the store runs, logged, to check that no password is on one.
  argvLog = path.join(dir, "oras-argv.log");
  const wrapper = path.join(dir, "oras");
  fs.writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${path.resolve(oras)}' "$@"\n`, { mode: 0o755 });
  process.env[ORAS_ENV] = wrapper;
  access = { url: registry.url, repository: "team/kmod-fleet", username: registry.username, password: registry.password, credentialsHint: "check the stack config secret registryPassword" };
}, 60_000);

afterAll(async () => {
  if (savedOras === undefined) delete process.env[ORAS_ENV];
  else process.env[ORAS_ENV] = savedOras;
  await registry?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The OCI manifest at a tag, as anyone with the registry's credentials reads it. */
async function ociManifest(tag: string): Promise<any> {
  const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
  const res = await fetch(`${registry.url}/v2/${access.repository}/manifests/${tag}`, { headers: { Authorization: `Basic ${auth}`, Accept: "application/vnd.oci.image.manifest.v1+json" } });
  expect(res.status).toBe(200);
  return res.json();
}

describe("RegistryArtifactStore on a registry with authentication", () => {
  it("stores a build as an OCI artifact with the key in its annotations, and gives it back by key to another stack's store", async () => {
    const files = { pair_provider: ko("p"), pair_consumer: ko("c") };
    const stored = await new RegistryArtifactStore(access).put(manifestFor(files), new Map(Object.entries(files)));
    expect(stored.contents.get("pair_consumer")).toEqual(files.pair_consumer);

    const oci = await ociManifest(tagFor(key));
    expect(oci.artifactType).toBe("application/vnd.kmod-fleet.modules.v1");
    expect(oci.annotations).toMatchObject({ [ANNOTATION.set]: "kmod-pair", [ANNOTATION.kernelRelease]: key.kernelRelease, [ANNOTATION.arch]: "x86_64", [ANNOTATION.sourceIdentity]: "git:abc123", [ANNOTATION.modules]: "pair_provider,pair_consumer", [ANNOTATION.vermagic]: `${key.kernelRelease} SMP preempt mod_unload modversions` });
    expect(oci.layers.map((l: any) => l.digest)).toEqual([`sha256:${sha(files.pair_provider)}`, `sha256:${sha(files.pair_consumer)}`]);

    const other = new RegistryArtifactStore({ ...access }); // another stack, same registry
    const got = (await other.get({ ...key }))!;
    expect(got.manifest.modules.map((m) => m.name)).toEqual(["pair_provider", "pair_consumer"]);
    expect(got.contents.get("pair_provider")).toEqual(files.pair_provider);
    expect(got.files.get("pair_provider")).toBe(`oci://${registry.url.slice(7)}/team/kmod-fleet@sha256:${sha(files.pair_provider)}`);
    for (const changed of [{ kernelRelease: "6.1.0-56-cloud-amd64" }, { set: "other" }, { sourceIdentity: "git:def" }, { arch: "aarch64" }]) expect(await other.get({ ...key, ...changed })).toBeUndefined();
  });

  it("a tag holding another key's artifact is not served for this key (the full key is checked)", async () => {
    const k = { ...key, sourceIdentity: "git:moved" };
    const store = new RegistryArtifactStore(access);
    // Copy the first artifact's manifest under the tag of another key, as a hand-made tag would.
    const oci = await ociManifest(tagFor(key));
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    const res = await fetch(`${registry.url}/v2/${access.repository}/manifests/${tagFor(k)}`, { method: "PUT", headers: { Authorization: `Basic ${auth}`, "Content-Type": oci.mediaType }, body: JSON.stringify(oci) });
    expect(res.status).toBe(201);
    expect(await store.get(k)).toBeUndefined();
  });

  it("a wrong password is refused with a clear message that does not contain it, and no command line ever held a password", async () => {
    const wrong = "not-the-password-" + crypto.randomBytes(6).toString("hex");
    const store = new RegistryArtifactStore({ ...access, password: wrong });
    const files = { pair_provider: ko("w") };
    const failure = await store.put(manifestFor(files, { ...key, sourceIdentity: "git:wrong" }), new Map(Object.entries(files))).then(() => undefined, (e: Error) => e.message);
    expect(failure).toMatch(/^the artifact store at oci:\/\/127\.0\.0\.1:\d+\/team\/kmod-fleet: the registry refused the credentials of user 'kmod-fleet' \(unauthorized\) to read .*; check the stack config secret registryPassword$/);
    expect(failure).not.toContain(wrong);
    await expect(store.get(key)).rejects.toThrow(/refused the credentials/);
    const commandLines = fs.readFileSync(argvLog, "utf8");
    expect(commandLines).toContain("--password-stdin");
    expect(commandLines).not.toContain(wrong);
    expect(commandLines).not.toContain(registry.password);
  });

  it("a blob damaged in the registry's storage makes the artifact absent, and storing it again says why it cannot", async () => {
    const k = { ...key, sourceIdentity: "git:damaged" };
    const files = { pair_provider: ko("to be damaged") };
    const store = new RegistryArtifactStore(access);
    await store.put(manifestFor(files, k), new Map(Object.entries(files)));
    const blob = registry.blobFile(sha(files.pair_provider));
    const damaged = Buffer.from(fs.readFileSync(blob));
    damaged[damaged.length - 1] ^= 0xff; // same size: only the sha256 tells
    fs.writeFileSync(blob, damaged);
    expect(await store.get(k)).toBeUndefined();
    await expect(store.put(manifestFor(files, k), new Map(Object.entries(files)))).rejects.toThrow(`the registry holds a damaged copy of blob sha256:${sha(files.pair_provider)}`);
    // A rebuild with other bytes replaces it.
    const rebuilt = { pair_provider: ko("rebuilt") };
    expect((await store.put(manifestFor(rebuilt, k), new Map(Object.entries(rebuilt)))).contents.get("pair_provider")).toEqual(rebuilt.pair_provider);
  });

  it("has() tells from the manifest and the blobs' sizes, without downloading a file", async () => {
    const k = { ...key, sourceIdentity: "git:has" };
    const files = { pair_provider: ko("h") };
    const store = new RegistryArtifactStore(access);
    expect(await store.has(k)).toBe(false);
    await store.put(manifestFor(files, k), new Map(Object.entries(files)));
    const before = fs.readFileSync(argvLog, "utf8").split("\n").length;
    expect(await store.has(k)).toBe(true);
    const asked = fs.readFileSync(argvLog, "utf8").split("\n").slice(before - 1).filter(Boolean);
    expect(asked.some((l) => /blob fetch --output/.test(l)), asked.join("\n")).toBe(false);
    // A blob the registry lost (its storage folder gone): the artifact is not there.
    fs.rmSync(path.dirname(registry.blobFile(sha(files.pair_provider))), { recursive: true });
    expect(await store.has(k)).toBe(false);
  });

  it("remove forgets the artifact", async () => {
    const k = { ...key, sourceIdentity: "git:removed" };
    const files = { pair_provider: ko("r") };
    const store = new RegistryArtifactStore(access);
    await store.put(manifestFor(files, k), new Map(Object.entries(files)));
    expect(await store.remove(k)).toBe(true);
    expect(await store.get(k)).toBeUndefined();
    expect(await store.remove(k)).toBe(false);
  });

  it("a host pulls the files with curl, the login in a 0600 config file rather than on its command line", async () => {
    const files = { pair_provider: ko("p"), pair_consumer: ko("c") };
    const artifact = (await new RegistryArtifactStore(access).get(key))!;
    const plan = hostPullPlan(access, artifact.manifest);
    const config = path.join(dir, "registry.curl");
    // As a host script would: umask 077, the config from stdin.
    expect(spawnSync("sh", ["-c", `umask 077; cat > '${config}'`], { input: plan.curlConfig }).status).toBe(0);
    expect(fs.statSync(config).mode & 0o777).toBe(0o600);
    for (const f of plan.files) {
      const out = path.join(dir, `${f.name}.ko`);
      const curl = spawnSync("curl", ["-fsS", "--config", config, "-o", out, f.url]);
      expect(curl.status, curl.stderr.toString()).toBe(0);
      expect(sha(fs.readFileSync(out))).toBe(f.sha256);
      expect(fs.readFileSync(out)).toEqual(files[f.name as keyof typeof files]);
    }
    expect(spawnSync("curl", ["-fsS", "-o", "/dev/null", plan.files[0].url]).status, "without the login the registry refuses").not.toBe(0);
  });

  it("two processes storing the same keys at once end with one artifact per key, the one both puts returned", async () => {
    const sources = Array.from({ length: 6 }, (_, i) => `git:race-${i}`);
    const run = (name: string) =>
      new Promise<Record<string, string>>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "fixtures", "registryWorker.ts")], { stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`worker ${name} exited ${code}: ${err}`))));
        child.stdin.end(JSON.stringify({ access, run: name, sources }));
      });
    const [a, b] = await Promise.all([run("run-a"), run("run-b")]);
    const store = new RegistryArtifactStore(access);
    for (const sourceIdentity of sources) {
      const held = (await store.get({ ...key, set: "pair", sourceIdentity }))!.manifest.modules[0].sha256;
      expect({ sourceIdentity, a: a[sourceIdentity], b: b[sourceIdentity] }).toEqual({ sourceIdentity, a: held, b: held });
    }
  }, 60_000);
});
