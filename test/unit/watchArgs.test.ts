// `kmod-fleet watch` arguments: what a user types, and the one-line usage errors.
import { describe, expect, it } from "vitest";
import { HelpRequest, UsageError, helpText, parseWatchArgs } from "../../bin/cliArgs";

const parse = (...argv: string[]) => parseWatchArgs(argv, "/srv/fleet");
const usage = (...argv: string[]) => {
  try {
    parse(...argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).command).toBe("watch");
    return (e as UsageError).message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
};

describe("kmod-fleet watch arguments", () => {
  it("defaults: every 300 s, until a signal, no refresh, the current folder", () => {
    expect(parse("--stack", "prod")).toEqual({ stack: "prod", intervalSeconds: 300, rounds: undefined, refresh: false, projectDir: "/srv/fleet" });
  });

  it("--once is one round; --rounds, --interval, --refresh and --cwd (relative to the current folder)", () => {
    expect(parse("--stack=prod", "--once", "--refresh")).toMatchObject({ rounds: 1, refresh: true });
    expect(parse("--stack", "org/kmod-fleet/prod", "--interval", "5", "--rounds", "3", "--cwd", "infra")).toEqual({
      stack: "org/kmod-fleet/prod",
      intervalSeconds: 5,
      rounds: 3,
      refresh: false,
      projectDir: "/srv/fleet/infra",
    });
    expect(parse("--stack", "prod", "--cwd", "/etc/fleet").projectDir).toBe("/etc/fleet");
  });

  it("refuses what it cannot use, in one line each", () => {
    expect(usage()).toBe("--stack is required: the name of the stack to keep converged");
    expect(usage("--stack", "--once")).toMatch(/^--stack needs a value, not '--once'/);
    expect(usage("--stack", "p", "--interval", "0")).toBe("--interval 0: expected a whole number from 1 to 86400");
    expect(usage("--stack", "p", "--interval", "1.5")).toBe("--interval 1.5: expected a whole number from 1 to 86400");
    expect(usage("--stack", "p", "--rounds", "x")).toBe("--rounds x: expected a whole number from 1 to 1000000");
    expect(usage("--stack", "p", "--once", "--rounds", "2")).toBe("--once and --rounds exclude each other");
    expect(usage("--stack", "p", "--watch")).toBe("unknown option --watch");
    expect(usage("--stack", "p", "extra")).toBe("unexpected argument 'extra'");
  });

  it("--help asks for the watch help, which names every option", () => {
    expect(() => parse("--help")).toThrow(HelpRequest);
    for (const flag of ["--stack", "--interval", "--once", "--rounds", "--refresh", "--cwd", "SIGTERM"]) expect(helpText("watch")).toContain(flag);
    expect(helpText()).toMatch(/watch +keep a stack converged/);
  });
});
