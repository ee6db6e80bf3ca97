// Proves that the offline Pulumi toolchain (npm run pulumi:toolchain) runs the real engine:
// a throwaway TypeScript project with one dynamic provider goes through stack init,
// preview, up, a no-op up, drift + refresh + repair, secrets, and destroy, against a local
// file backend, using this repo's node_modules; and the Automation API runs an inline
// program with a dynamic provider defined in this (vitest-transformed) file.
import { execFile } from "node:child_process";
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as pulumiSdk from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PULUMI_VERSION, assertToolchain, pulumiBin, pulumiEnv, pulumiRoot, repoRoot,
} from "../../dev/toolchain/env";
import { Stack } from "../../dev/toolchain/stack";

const execFileP = promisify(execFile);

// The program under test. Provider methods load modules with require() inside the method
// body: the closure serializer stores the function text, so module-level imports would be
// captured as serialized objects instead of being loaded when the provider runs.
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";

interface FileArgs { path: pulumi.Input<string>; content: pulumi.Input<string>; }

const fileProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: any) {
    const fs = require("fs");
    fs.writeFileSync(inputs.path, inputs.content);
    return { id: inputs.path, outs: { path: inputs.path, content: inputs.content } };
  },
  // Called by refresh: what is really on disk replaces the stored outputs.
  async read(id: string, props: any) {
    const fs = require("fs");
    const content = fs.existsSync(id) ? fs.readFileSync(id, "utf8") : "<missing>";
    return { id, props: { ...props, path: id, content } };
  },
  async diff(_id: string, olds: any, news: any) {
    const replaces = olds.path !== news.path ? ["path"] : [];
    return { changes: olds.content !== news.content || replaces.length > 0, replaces };
  },
  async update(_id: string, _olds: any, news: any) {
    const fs = require("fs");
    fs.writeFileSync(news.path, news.content);
    return { outs: { path: news.path, content: news.content } };
  },
  async delete(id: string) {
    const fs = require("fs");
    fs.rmSync(id, { force: true });
  },
};

class File extends pulumi.dynamic.Resource {
  declare readonly content: pulumi.Output<string>;
  constructor(name: string, args: FileArgs, opts?: pulumi.CustomResourceOptions) {
    super(fileProvider, name, { ...args, content: args.content }, opts);
  }
}

const config = new pulumi.Config();
const dir = config.require("dir");
const plain = new File("plain", { path: dir + "/plain.txt", content: config.require("greeting") });
const secret = new File("secret", { path: dir + "/secret.txt", content: config.requireSecret("token") });
export const plainContent = plain.content;
export const secretContent = secret.content;
`;

const PULUMI_YAML = `name: engine-check
runtime:
  name: nodejs
  options:
    typescript: true
`;

const TSCONFIG = JSON.stringify({
  compilerOptions: {
    strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node",
    esModuleInterop: true, skipLibCheck: true,
  },
  files: ["index.ts"],
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

const TOKEN = "tok-" + Math.random().toString(36).slice(2);

describe(`Pulumi engine v${PULUMI_VERSION} offline (dev/toolchain/)`, () => {
  let work: string;
  let project: string;
  let world: string;
  let state: string;
  let env: NodeJS.ProcessEnv;
  const timings: string[] = [];

  async function pulumi(...args: string[]): Promise<string> {
    const started = Date.now();
    try {
      const { stdout } = await execFileP(pulumiBin, [...args, "--non-interactive"], {
        cwd: project, env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000,
      });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`pulumi ${args.join(" ")} failed: ${e.message}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`);
    } finally {
      timings.push(`pulumi ${args.filter((a) => !a.startsWith("--")).join(" ")}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

  async function previewSummary(...extra: string[]): Promise<Record<string, number>> {
    const out = JSON.parse(await pulumi("preview", "--json", ...extra));
    return out.changeSummary;
  }

  beforeAll(() => {
    // Fails the whole file with "Pulumi toolchain missing in ...: run `npm run pulumi:toolchain`".
    assertToolchain();
    work = mkdtempSync(path.join(tmpdir(), "kmod-engine-"));
    project = path.join(work, "project");
    world = path.join(work, "world");
    state = path.join(work, "state");
    for (const d of [project, world, state]) mkdirSync(d);
    writeFileSync(path.join(project, "Pulumi.yaml"), PULUMI_YAML);
    writeFileSync(path.join(project, "index.ts"), PROGRAM);
    writeFileSync(path.join(project, "tsconfig.json"), TSCONFIG);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "engine-check", private: true }));
    symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"), "dir");
    // Transpile only: type-checking the program is not what this test is about, and it is
    // most of the time of each preview/up.
    env = { ...pulumiEnv({ backendUrl: `file://${state}` }), PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
  });

  afterAll(() => {
    if (timings.length) console.log(`engine test timings:\n  ${timings.join("\n  ")}`);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("is the pinned version", async () => {
    expect((await pulumi("version")).trim()).toBe(`v${PULUMI_VERSION}`);
  });

  it("initialises a stack on the local file backend", async () => {
    await pulumi("stack", "init", "dev");
    await pulumi("config", "set", "dir", world);
    await pulumi("config", "set", "greeting", "hello");
    await pulumi("config", "set", "--secret", "token", TOKEN);
    expect(readFileSync(path.join(project, "Pulumi.dev.yaml"), "utf8")).not.toContain(TOKEN);
  });

  it("previews without touching anything", async () => {
    const summary = await previewSummary();
    expect(summary).toEqual({ create: 3 }); // the stack and two files
    expect(readdirSync(world)).toEqual([]);
  });

  it("creates the resources with up", async () => {
    await pulumi("up", "--yes", "--skip-preview");
    expect(readFileSync(path.join(world, "plain.txt"), "utf8")).toBe("hello");
    expect(readFileSync(path.join(world, "secret.txt"), "utf8")).toBe(TOKEN);
    const outputs = JSON.parse(await pulumi("stack", "output", "--json"));
    expect(outputs.plainContent).toBe("hello");
    // An output that shares its key with a secret input comes back secret.
    expect(outputs.secretContent).toBe("[secret]");
    const shown = JSON.parse(await pulumi("stack", "output", "--json", "--show-secrets"));
    expect(shown.secretContent).toBe(TOKEN);
    // The secret never reaches the state file in plaintext.
    const leaks = filesUnder(state).filter((f) => readFileSync(f, "utf8").includes(TOKEN));
    expect(leaks).toEqual([]);
  });

  it("has nothing to do on a second up", async () => {
    expect(await previewSummary()).toEqual({ same: 3 });
    const out = await pulumi("up", "--yes", "--skip-preview");
    expect(out).toMatch(/3 unchanged/);
  });

  it("sees drift with refresh and repairs it with up", async () => {
    writeFileSync(path.join(world, "plain.txt"), "tampered");
    // Without refresh the engine trusts its state.
    expect(await previewSummary()).toEqual({ same: 3 });
    // preview --refresh calls read(): the drift shows, and nothing is persisted.
    expect(await previewSummary("--refresh")).toEqual({ same: 2, update: 1 });
    expect(await previewSummary()).toEqual({ same: 3 });
    await pulumi("refresh", "--yes", "--skip-preview");
    expect(await previewSummary()).toEqual({ same: 2, update: 1 });
    await pulumi("up", "--yes", "--skip-preview");
    expect(readFileSync(path.join(world, "plain.txt"), "utf8")).toBe("hello");
    expect(await previewSummary("--refresh")).toEqual({ same: 3 });
  });

  it("destroys everything", async () => {
    await pulumi("destroy", "--yes", "--skip-preview");
    expect(readdirSync(world)).toEqual([]);
    await pulumi("stack", "rm", "--yes", "dev");
    expect(existsSync(path.join(project, "Pulumi.dev.yaml"))).toBe(false);
  });
});

// Automation API, inline program: the CLI runs the program through a language server inside
// this process (no pulumi-language-nodejs), and serializes the provider from vitest's
// transformed module. Provider methods use require() and capture nothing from module scope.
const touchProvider: pulumiSdk.dynamic.ResourceProvider = {
  async create(inputs: any) {
    const fs = require("fs");
    fs.writeFileSync(inputs.path, "touched");
    return { id: inputs.path, outs: inputs };
  },
  async read(id: string, props: any) {
    const fs = require("fs");
    return { id, props: { ...props, exists: fs.existsSync(id) } };
  },
  async delete(id: string) {
    const fs = require("fs");
    fs.rmSync(id, { force: true });
  },
};

class Touch extends pulumiSdk.dynamic.Resource {
  constructor(name: string, args: { path: string }) {
    super(touchProvider, name, args);
  }
}

describe("Automation API inline program on the offline toolchain", () => {
  it("ups, refreshes and destroys a dynamic resource", async () => {
    assertToolchain();
    const work = mkdtempSync(path.join(tmpdir(), "kmod-auto-"));
    try {
      for (const d of ["state", "world"]) mkdirSync(path.join(work, d));
      const file = path.join(work, "world", "f.txt");
      const stack = await LocalWorkspace.createOrSelectStack(
        {
          stackName: "dev",
          projectName: "auto-check",
          program: async () => {
            new Touch("f", { path: file });
          },
        },
        {
          pulumiCommand: await PulumiCommand.get({ root: pulumiRoot() }),
          envVars: pulumiEnv({ backendUrl: `file://${work}/state` }) as Record<string, string>,
          workDir: work,
        },
      );
      expect((await stack.up()).summary.resourceChanges).toEqual({ create: 2 });
      expect(readFileSync(file, "utf8")).toBe("touched");
      expect((await stack.refresh()).summary.resourceChanges).toEqual({ same: 2 });
      await stack.destroy();
      expect(existsSync(file)).toBe(false);
      await stack.workspace.removeStack("dev");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

// dev/toolchain/stack.ts's cliStreaming (what `npm run demo` uses): Pulumi's output, with the
// providers' per-host progress lines (host/progress.ts), reaches the caller while the
// `up` still runs, and the captured result is the whole output, as cli() would return it.
const SLOW_PROGRAM = (progressModule: string) => `
import * as pulumi from "@pulumi/pulumi";
import { progress } from ${JSON.stringify(progressModule)};

const slowProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    for (const step of [1, 2, 3]) {
      progress("h1", "step " + step + " of 3");
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    return { id: "slow", outs: {} };
  },
};
new pulumi.dynamic.Resource(slowProvider, "slow", {});
`;

describe("dev/toolchain/stack.ts streams the CLI's output", () => {
  it("shows progress lines of an up before the up ends, and captures the same output", async () => {
    const work = mkdtempSync(path.join(tmpdir(), "kmod-stream-"));
    try {
      const project = path.join(work, "project");
      mkdirSync(project);
      writeFileSync(path.join(project, "Pulumi.yaml"), PULUMI_YAML.replace("engine-check", "stream-check"));
      writeFileSync(path.join(project, "index.ts"), SLOW_PROGRAM(path.join(repoRoot, "host", "progress")));
      writeFileSync(path.join(project, "tsconfig.json"), TSCONFIG);
      writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "stream-check", private: true }));
      symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"), "dir");
      const stack = new Stack("dev", path.join(work, "state"), project);
      await execFileP(pulumiBin, ["stack", "init", "dev", "--non-interactive"], { cwd: project, env: stack.env });

      const chunks: { at: number; text: string; stream: string }[] = [];
      const result = await stack.cliStreaming(["up", "--yes", "--skip-preview"], { sink: (text, s) => chunks.push({ at: Date.now(), text, stream: s }) });
      const ended = Date.now();

      expect(result.code).toBe(0);
      expect(result.stdout).toBe(chunks.filter((c) => c.stream === "stdout").map((c) => c.text).join(""));
      expect(result.stderr).toBe(chunks.filter((c) => c.stream === "stderr").map((c) => c.text).join(""));
      const first = chunks.find((c) => c.text.includes("h1: step 1 of 3"));
      const third = chunks.find((c) => c.text.includes("h1: step 3 of 3"));
      expect(first, result.output).toBeDefined();
      expect(third, result.output).toBeDefined();
      // Steps are 1.5 s apart and the resource finishes 1.5 s after the last one.
      expect(third!.at - first!.at).toBeGreaterThan(2000);
      expect(ended - first!.at).toBeGreaterThan(3000);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
