// build.store.registry: what the stack config accepts, and the store the providers pick from it.
import { describe, expect, it } from "vitest";
import { resolveFleetConfig } from "../../config/resolve";
import { artifactStoreFor, registryAccessOf } from "../../artifacts/location";
import { LocalArtifactStore } from "../../artifacts/store";
import { RegistryArtifactStore } from "../../artifacts/registryStore";
import { minimal, problemsOf } from "./fixtures/badConfigs";

const registry = { url: "https://registry.example.com", repository: "team/kmod-fleet", username: "ci", passwordConfig: "registryPassword" };

describe("build.store.registry", () => {
  it("is resolved beside the builders", () => {
    expect(resolveFleetConfig(minimal({ build: { store: { registry } } })).build.storeRegistry).toEqual(registry);
    expect(resolveFleetConfig(minimal({ build: { store: { registry: { url: "http://127.0.0.1:5000", repository: "kmod", insecureHttp: true } } } })).build.storeRegistry).toMatchObject({ url: "http://127.0.0.1:5000" });
  });

  it("every problem at once, by path", () => {
    expect(problemsOf(minimal({ build: { store: { path: "/srv/a", registry } } }))).toEqual(["build.store: expected exactly one of path or registry"]);
    expect(problemsOf(minimal({ build: { store: {} } }))).toEqual(["build.store: expected exactly one of path or registry"]);
    const bad = problemsOf(minimal({ build: { store: { registry: { url: "http://user:pw@registry.example.com/v2", repository: "Team/Kmod", username: "ci", password: "x" } } } }));
    expect(bad.join("\n")).toMatch(/build\.store\.registry\.url: expected the registry's address/);
    expect(bad.join("\n")).toMatch(/build\.store\.registry\.repository: expected an OCI repository name/);
    expect(bad.join("\n")).toMatch(/build\.store\.registry: .*password/);
    expect(problemsOf(minimal({ build: { store: { registry: { ...registry, passwordConfig: undefined } } } }))).toEqual(["build.store.registry: expected both username and passwordConfig, or neither (anonymous access)"]);
    expect(problemsOf(minimal({ build: { store: { registry: { ...registry, url: "http://registry.example.com" } } } }))).toEqual([
      "build.store.registry.insecureHttp: an http:// url sends the registry password in clear: use https://, or set insecureHttp: true (loopback or a trusted network only)",
    ]);
  });
});

describe("the store a provider picks from the stack config", () => {
  const config = (values: Record<string, string>) => ({ get: (k: string) => values[k] });

  it("the registry, with the password from the secret key it names", () => {
    const access = registryAccessOf(config({ "kmod-fleet:fleet": JSON.stringify(minimal({ build: { store: { registry } } })), "kmod-fleet:registryPassword": "s3cret" }))!;
    expect(access).toMatchObject({ url: registry.url, repository: registry.repository, username: "ci", password: "s3cret" });
    const store = artifactStoreFor({ storeRegistry: access });
    expect(store).toBeInstanceOf(RegistryArtifactStore);
    expect(store.location).toBe("oci://registry.example.com/team/kmod-fleet");
  });

  it("a missing secret says how to set it", () => {
    expect(() => registryAccessOf(config({ "kmod-fleet:fleet": JSON.stringify(minimal({ build: { store: { registry } } })) }))).toThrow(
      "build.store.registry.passwordConfig names the stack config key registryPassword, which is not set; set it with `pulumi config set --secret registryPassword`",
    );
  });

  it("the local folder when no registry is set", () => {
    const setting = { storeConfigured: "/srv/artifacts", storeRegistry: registryAccessOf(config({ "kmod-fleet:fleet": JSON.stringify(minimal()) })) };
    expect(setting.storeRegistry).toBeUndefined();
    expect(artifactStoreFor(setting)).toBeInstanceOf(LocalArtifactStore);
    expect(artifactStoreFor(setting).location).toBe("/srv/artifacts");
  });
});
