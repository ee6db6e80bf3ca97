/**
 * `kmod-fleet watch`: the unattended reconcile. Flatcar hosts update themselves, so the
 * stack must be converged again with nobody at the keyboard: every interval a preview (the
 * program probes every host over SSH) tells whether anything needs work, and only then
 * `up` runs, with --continue-on-error so that one failing host never holds the others back.
 * Each round is logged as JSON lines on stdout: one per host, one summary.
 *
 * Built on Pulumi's Automation API over the user's own project and stack (no inline program):
 * it runs the same CLI, backend and passphrase as `pulumi up` in that folder would.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { parseWatchArgs, type WatchArgs } from "./cliArgs";
import { OperationEvents, anyChange, commandErrorLine, type OperationReport } from "./watchEvents";

/** A reason the watcher cannot start at all: printed as one line, exit status 1. */
class CannotStart extends Error {}

type Action = "none" | "up" | "preview";

interface Operation {
  report: OperationReport;
  /** The CLI's own error line, when the operation exited non-zero. */
  error?: string;
}

/** The project folder holds a Pulumi project, the CLI runs, the stack exists: else one clear line. */
async function openStack(args: WatchArgs): Promise<Stack> {
  const projectFile = ["Pulumi.yaml", "Pulumi.yml"].find((f) => fs.existsSync(path.join(args.projectDir, f)));
  if (!projectFile) throw new CannotStart(`no Pulumi project in ${args.projectDir} (no Pulumi.yaml): run it in your project's folder or give --cwd`);
  // Loaded here, not at the top: the other commands need none of Pulumi (a peer dependency).
  let auto: typeof import("@pulumi/pulumi/automation");
  try {
    auto = await import("@pulumi/pulumi/automation");
  } catch {
    throw new CannotStart("cannot load @pulumi/pulumi/automation: install @pulumi/pulumi (3.248 or later) next to kmod-fleet, as your Pulumi program does");
  }
  let pulumiCommand;
  try {
    pulumiCommand = await auto.PulumiCommand.get();
  } catch (err) {
    throw new CannotStart(`cannot run the Pulumi CLI ('pulumi' on the PATH): ${commandErrorLine(err)}`);
  }
  try {
    return await auto.LocalWorkspace.selectStack({ stackName: args.stack, workDir: args.projectDir }, { pulumiCommand });
  } catch (err) {
    if (err instanceof auto.StackNotFoundError || /no stack named/.test(String((err as Error)?.message))) {
      throw new CannotStart(`no stack named '${args.stack}' in the project at ${args.projectDir} (its backend: Pulumi.yaml, PULUMI_BACKEND_URL or pulumi login); 'pulumi stack ls' lists them`);
    }
    throw new CannotStart(`cannot select the stack '${args.stack}' in ${args.projectDir}: ${commandErrorLine(err)}`);
  }
}

/** Runs one preview or up, collecting its events; a failure is a result, not an exception. */
async function operation(run: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<Operation> {
  const events = new OperationEvents();
  try {
    await run((e) => events.add(e));
    return { report: events.result() };
  } catch (err) {
    return { report: events.result(), error: commandErrorLine(err) };
  }
}

/** SIGTERM and SIGINT: no new operation starts, the sleep ends; SIGTERM also cancels the running one. */
class Stopper {
  /** Aborting it makes the Automation API send the running CLI SIGINT: Pulumi cancels cleanly. */
  readonly cancel = new AbortController();
  stopped = false;
  private wake?: () => void;
  private readonly onTerm = () => this.stop(true);
  // A SIGINT from a terminal (Ctrl-C) reached the Pulumi CLI in the same process group
  // already, and it is cancelling; a second SIGINT would make it quit without cleaning up.
  private readonly onInt = () => this.stop(false);

  constructor() {
    process.on("SIGTERM", this.onTerm);
    process.on("SIGINT", this.onInt);
  }

  private stop(cancelRunning: boolean): void {
    this.stopped = true;
    if (cancelRunning) this.cancel.abort();
    this.wake?.();
  }

  /** Waits `seconds`, or less when a signal comes. */
  sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, seconds * 1000);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  dispose(): void {
    process.off("SIGTERM", this.onTerm);
    process.off("SIGINT", this.onInt);
  }
}

const line = (record: Record<string, unknown>) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...record }) + "\n");

/** One line per host, then the round's summary. */
function logRound(round: number, action: Action, op: Operation, started: number, cancelled: boolean): void {
  const counts = { ok: 0, failed: 0, unreachable: 0 };
  for (const [host, r] of op.report.hosts) {
    counts[r.outcome]++;
    line({ round, action, host, outcome: r.outcome, changes: r.changes, ...(r.message ? { message: r.message } : {}) });
  }
  const problems = [...op.report.fleetErrors];
  // An error no host explains (the program failed, the stack is locked, ...) is the round's.
  if (op.error && counts.failed + counts.unreachable === 0 && problems.length === 0) problems.push(op.error);
  const outcome = cancelled ? "cancelled" : counts.failed + counts.unreachable + problems.length > 0 ? "failed" : "ok";
  const seconds = Number(((Date.now() - started) / 1000).toFixed(1));
  line({ round, action, outcome, hosts: counts, changes: op.report.changes, seconds, ...(problems.length ? { message: problems.join("; ") } : {}) });
}

/** A preview; an up only when it plans a change. */
async function runRound(stack: Stack, args: WatchArgs, round: number, stopper: Stopper): Promise<void> {
  const started = Date.now();
  const signal = stopper.cancel.signal;
  const preview = await operation((onEvent) => stack.preview({ refresh: args.refresh, onEvent, signal }));
  if (stopper.stopped || !anyChange(preview.report.changes)) {
    // A preview that failed before any host was known tells nothing about the hosts: the round failed at the preview.
    const action: Action = preview.error && preview.report.hosts.size === 0 ? "preview" : "none";
    // Stopped: the up it may have planned does not start.
    logRound(round, action, preview, started, stopper.stopped && (!!preview.error || anyChange(preview.report.changes)));
    return;
  }
  const up = await operation((onEvent) => stack.up({ refresh: args.refresh, continueOnError: true, onEvent, signal }));
  logRound(round, "up", up, started, stopper.stopped && !!up.error);
}

export async function runWatch(argv: string[]): Promise<number> {
  const args = parseWatchArgs(argv, process.cwd());
  // From the start: a signal while the stack is opened ends the watcher before its first round.
  const stopper = new Stopper();
  try {
    let stack: Stack;
    try {
      stack = await openStack(args);
    } catch (err) {
      if (!(err instanceof CannotStart)) throw err;
      process.stderr.write(`kmod-fleet watch: ${err.message}\n`);
      return 1;
    }
    for (let round = 1; !stopper.stopped; round++) {
      await runRound(stack, args, round, stopper);
      if (args.rounds !== undefined && round >= args.rounds) break;
      if (!stopper.stopped) await stopper.sleep(args.intervalSeconds);
    }
    return 0;
  } finally {
    stopper.dispose();
  }
}
