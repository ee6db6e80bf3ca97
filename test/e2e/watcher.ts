// `kmod-fleet watch` running in the background while a test acts on the fleet, as a user
// would leave it running under systemd: its JSON lines are collected as they come, and the
// test waits for the lines it expects.
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import { repoRoot } from "../../dev/toolchain/env";
import type { Stack } from "../../dev/toolchain/stack";

export type WatchLine = Record<string, any>;

export class Watcher {
  readonly lines: WatchLine[] = [];
  stderr = "";
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(stack: Stack, args: string[]) {
    this.child = spawn(path.join(repoRoot, "bin", "kmod-fleet"), ["watch", "--stack", stack.name, ...args], { cwd: stack.projectDir, env: stack.env, stdio: ["ignore", "pipe", "pipe"] });
    let pending = "";
    this.child.stdout!.setEncoding("utf8").on("data", (text: string) => {
      pending += text;
      for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        try {
          const parsed = JSON.parse(line);
          this.lines.push(parsed);
          // The test's log shows the watcher's rounds as they end.
          if (parsed.hosts) console.log(`watch: round ${parsed.round} ${parsed.action} ${parsed.outcome} ${JSON.stringify(parsed.hosts)} ${parsed.seconds} s`);
        } catch {
          this.lines.push({ unparsed: line });
        }
      }
    });
    this.child.stderr!.setEncoding("utf8").on("data", (text: string) => (this.stderr += text));
    this.exited = new Promise((resolve) => this.child.on("close", (code) => resolve(code)));
  }

  /** The round summaries so far. */
  rounds(): WatchLine[] {
    return this.lines.filter((l) => l.round !== undefined && l.hosts !== undefined);
  }

  /** Waits for a line (from index `from` on) that `match` accepts; fails naming what it waited for. */
  async until(what: string, match: (l: WatchLine) => boolean, timeoutSeconds: number, from = 0): Promise<WatchLine> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`kmod-fleet watch exited (${this.child.exitCode}) before ${what}:\n${this.stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`kmod-fleet watch: no ${what} within ${timeoutSeconds} s; its last lines:\n${this.lines.slice(-8).map((l) => JSON.stringify(l)).join("\n")}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** SIGTERM, as systemd stops it: the running operation is cancelled; its exit status. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 300_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
