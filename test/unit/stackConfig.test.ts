// The program (index.ts) with the stack config `kmod-fleet:fleet`, under Pulumi's mocks: the
// config is checked once per run, with the stack config's schema, and a bad one is refused
// with every problem at once, named after the config key, before anything is registered.
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { recordResources } from "./pulumiMocks";

vi.mock("../../config/resolve", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../config/resolve")>();
  return { ...actual, resolveFleetConfig: vi.fn(actual.resolveFleetConfig) };
});

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxAJ2iCgUCIyF7+uFqQ1y0NxBQ0v5yHUZ8Qp8sE1P2a";
// Nothing answers on port 9: the host is unreachable at once, which this fleet allows.
const host = (name: string, more: object = {}) => ({ name, address: "127.0.0.1", port: 9, hostKey: KEY, connectAttempts: 1, connectTimeoutSeconds: 1, ...more });

async function runProgram(fleet: unknown) {
  vi.resetModules();
  const registered = recordResources();
  pulumi.runtime.setConfig("kmod-fleet:sshPrivateKey", "secret value of sshPrivateKey");
  pulumi.runtime.setConfig("kmod-fleet:fleet", JSON.stringify(fleet));
  const { resolveFleetConfig } = await import("../../config/resolve");
  vi.mocked(resolveFleetConfig).mockClear();
  let error: unknown;
  let hosts: pulumi.Output<unknown> | undefined;
  try {
    hosts = (await import("../../index")).hosts;
  } catch (e) {
    error = e;
  }
  return { registered, validations: vi.mocked(resolveFleetConfig).mock.calls.length, error, hosts };
}

describe("the program's stack config", () => {
  beforeEach(() => vi.spyOn(pulumi.log, "warn").mockImplementation(async () => undefined));

  it("is validated once per run, whatever the number of hosts", async () => {
    const run = await runProgram({ hosts: [host("h1"), host("h2"), host("h3")], allowUnreachableHosts: true });
    expect(run.error).toBeUndefined();
    await new Promise((resolve) => run.hosts!.apply(resolve));
    expect(run.validations).toBe(1);
    expect(run.registered.map((r) => r.name)).toContain("h3-facts");
  });

  it("a bad one: every problem at once, named after the config key, and nothing registered", async () => {
    const run = await runProgram({ hosts: [host("h1", { hostKey: undefined }), host("h1")], storage: { workDir: "relative" } });
    expect(run.error).toBeInstanceOf(pulumi.RunError);
    const message = String((run.error as Error).message);
    expect(message).toMatch(/^invalid kmod-fleet:fleet config \(3 problems\):\n/);
    expect(message).toContain("  - hosts[0].hostKey: required");
    expect(message).toContain('  - hosts[1].name: "h1" is already used by hosts[0]');
    expect(message).toContain("  - storage.workDir: expected an absolute path");
    expect(run.validations).toBe(1);
    // Not even the Fleet component: a preview of a bad config shows nothing to create.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(run.registered).toEqual([]);
  });

  it("keeps the stack config's own schema: the Fleet component's extra spellings are refused there", async () => {
    const run = await runProgram({ hosts: [{ ...host("h1"), address: undefined, host: "127.0.0.1" }] });
    expect(String((run.error as Error).message)).toMatch(/^invalid kmod-fleet:fleet config .*\n  - hosts\[0\]\.address: /);
  });
});
