// Runs this project's Pulumi program with the offline toolchain: one stack in its own
// state folder, driven through the real CLI (used by `npm run demo` and the e2e tests).
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { assertToolchain, pulumiBin, pulumiEnv, repoRoot } from "./env";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages. */
  output: string;
  seconds: number;
}

export interface CliOptions {
  input?: string;
  allowFail?: boolean;
  timeoutSeconds?: number;
}

/** Receives the CLI's output as it comes, chunk by chunk. */
export type OutputSink = (text: string, stream: "stdout" | "stderr") => void;

const toConsole: OutputSink = (text, stream) => (stream === "stdout" ? process.stdout : process.stderr).write(text);

export interface PreviewStep {
  op: string;
  /** The resource name, e.g. "h1-kmod-pair-build". */
  name: string;
  type: string;
}

/** The resource name at the end of a URN ("...::h1-kmod-pair-build"). */
function resourceName(urn: string): string {
  return String(urn).split("::").pop() ?? "";
}

/** One Pulumi stack of this project in its own state folder. */
export class Stack {
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly name: string,
    readonly stateDir: string,
    /** The Pulumi project (Pulumi.yaml); this repository unless a test uses its own. */
    readonly projectDir: string = repoRoot,
  ) {
    assertToolchain();
    fs.mkdirSync(stateDir, { recursive: true });
    // Transpile only: type checking is `npx tsc --noEmit`'s job, not every run's.
    this.env = { ...pulumiEnv({ backendUrl: `file://${stateDir}` }), PULUMI_NODEJS_TRANSPILE_ONLY: "true" };
  }

  get configFile(): string {
    return path.join(this.projectDir, `Pulumi.${this.name}.yaml`);
  }

  /** Runs the CLI and returns its output when it exits (what the e2e tests use). */
  cli(args: string[], opts: CliOptions = {}): CliResult {
    const started = Date.now();
    const r = spawnSync(pulumiBin, [...args, "--stack", this.name, "--non-interactive"], {
      cwd: this.projectDir,
      env: this.env,
      input: opts.input,
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      timeout: (opts.timeoutSeconds ?? 1800) * 1000,
    });
    return this.finish(args, opts, started, r.status ?? -1, r.stdout ?? "", r.stderr ?? "");
  }

  /**
   * Like cli(), but passes Pulumi's output on as it comes (to `sink`, by default this
   * process's stdout and stderr) while capturing it: the result is the same CliResult.
   * The demo uses it so that a long `up` shows its progress.
   */
  cliStreaming(args: string[], opts: CliOptions & { sink?: OutputSink } = {}): Promise<CliResult> {
    const started = Date.now();
    const sink = opts.sink ?? toConsole;
    return new Promise((resolve, reject) => {
      const child = spawn(pulumiBin, [...args, "--stack", this.name, "--non-interactive"], { cwd: this.projectDir, env: this.env, stdio: ["pipe", "pipe", "pipe"] });
      const captured = { stdout: "", stderr: "" };
      for (const stream of ["stdout", "stderr"] as const) {
        child[stream].setEncoding("utf8");
        child[stream].on("data", (text: string) => {
          captured[stream] += text;
          sink(text, stream);
        });
      }
      const timer = setTimeout(() => child.kill("SIGTERM"), (opts.timeoutSeconds ?? 1800) * 1000);
      let failedToStart: Error | undefined;
      child.on("error", (err) => (failedToStart = err));
      child.on("close", (code) => {
        clearTimeout(timer);
        try {
          resolve(this.finish(args, opts, started, code ?? -1, captured.stdout, captured.stderr || (failedToStart?.message ?? "")));
        } catch (err) {
          reject(err);
        }
      });
      child.stdin.end(opts.input ?? "");
    });
  }

  private finish(args: string[], opts: CliOptions, started: number, code: number, stdout: string, stderr: string): CliResult {
    const result = { code, stdout, stderr, output: `${stdout}\n${stderr}`, seconds: (Date.now() - started) / 1000 };
    if (result.code !== 0 && !opts.allowFail) {
      throw new Error(`pulumi ${args.join(" ")} failed (exit ${result.code}):\n${result.output.slice(-6000)}`);
    }
    return result;
  }

  /** Creates the stack anew with this fleet config and the SSH key as a secret. */
  init(fleet: Record<string, unknown>, privateKey: string): void {
    this.initWith({ "kmod-fleet:fleet": fleet }, { "kmod-fleet:sshPrivateKey": privateKey });
  }

  /**
   * Creates the stack anew with these config values (written to the stack file as they are)
   * and secrets (set with `pulumi config set --secret`, from stdin).
   */
  initWith(values: Record<string, unknown>, secrets: Record<string, string> = {}): void {
    this.destroyState();
    const r = spawnSync(pulumiBin, ["stack", "init", this.name, "--non-interactive"], { cwd: this.projectDir, env: this.env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`pulumi stack init ${this.name} failed: ${r.stderr}`);
    this.setConfig(values);
    for (const [key, value] of Object.entries(secrets)) this.cli(["config", "set", "--secret", key], { input: value });
  }

  /** Rewrites the kmod-fleet:fleet value in the stack file, keeping everything else. */
  setFleet(fleet: Record<string, unknown>): void {
    this.setConfig({ "kmod-fleet:fleet": fleet });
  }

  /** Writes these config values (`<namespace>:<key>`) to the stack file, keeping everything else. */
  setConfig(values: Record<string, unknown>): void {
    const doc = (fs.existsSync(this.configFile) ? yaml.load(fs.readFileSync(this.configFile, "utf8")) : {}) as any;
    doc.config = { ...(doc.config ?? {}), ...values };
    fs.writeFileSync(this.configFile, yaml.dump(doc, { lineWidth: -1 }));
  }

  /** `pulumi preview --json` as steps, with the resources that change. */
  preview(extra: string[] = []): { steps: PreviewStep[]; changes: PreviewStep[]; result: CliResult } {
    const result = this.cli(["preview", "--json", ...extra]);
    const json = JSON.parse(result.stdout.slice(result.stdout.indexOf("{")));
    const steps: PreviewStep[] = (json.steps ?? []).map((s: any) => ({ op: s.op, name: resourceName(s.urn), type: String(s.urn).split("::")[2] ?? "" }));
    // With --refresh every resource also has a "refresh" step; what changes comes after it.
    return { steps, changes: steps.filter((s) => s.op !== "same" && s.op !== "refresh"), result };
  }

  /** URNs of this stack's resources whose names match, e.g. /^h1(-|$)/ for a host and all of its resources. */
  urnsOf(name: RegExp): string[] {
    const state = JSON.parse(this.cli(["stack", "export"]).stdout);
    const urns: string[] = (state.deployment?.resources ?? []).map((r: any) => r.urn);
    const found = urns.filter((u) => name.test(resourceName(u)));
    if (found.length === 0) throw new Error(`stack ${this.name} has no resource named ${name}`);
    return found;
  }

  up(extra: string[] = [], opts: { allowFail?: boolean } = {}): CliResult {
    return this.cli(["up", "--yes", "--skip-preview", ...extra], opts);
  }

  /** Forgets this stack (state and stack file) without touching its hosts or other stacks. */
  destroyState(): void {
    spawnSync(pulumiBin, ["stack", "rm", this.name, "--yes", "--force", "--non-interactive"], { cwd: this.projectDir, env: this.env, encoding: "utf8" });
    if (fs.existsSync(this.configFile)) fs.rmSync(this.configFile);
  }
}
