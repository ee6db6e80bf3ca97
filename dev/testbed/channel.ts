// The test fleet's release channel, as Flatcar's release server has one per group and
// board: a "current" release that moves when a new one is published. Every test release
// (one per test kernel, signed developer container and all) is in the release tree from the
// start; publishing only moves the channel's pointer to the next one, so a host's
// update_engine sees it at its next check. The pointer lives in the run folder: a fresh
// fleet starts on the release its hosts boot.
import * as fs from "node:fs";
import * as path from "node:path";
import type { TestKernel } from "./recipe";

export interface ChannelState {
  group: string;
  board: string;
  /** The OS version the channel serves as current. */
  version: string;
  /** When each version was published on this channel (ISO time), oldest first. */
  published: { version: string; at: string }[];
}

export function readChannel(file: string): ChannelState | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as ChannelState) : undefined;
}

function writeChannel(file: string, state: ChannelState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

/** The channel of a new fleet: its current release is the one the hosts boot first. */
export function startChannel(file: string, group: string, board: string, first: TestKernel): ChannelState {
  const state = { group, board, version: first.osVersion, published: [{ version: first.osVersion, at: new Date().toISOString() }] };
  writeChannel(file, state);
  return state;
}

/** Moves the channel to the release after its current one; fails when there is none. */
export function publishNext(file: string, kernels: TestKernel[]): { version: string; kernelRelease: string; at: string } {
  const state = readChannel(file);
  if (!state) throw new Error("the test fleet has no release channel: run `npm run testbed -- up` first");
  const i = kernels.findIndex((k) => k.osVersion === state.version);
  const next = kernels[i + 1];
  if (!next) throw new Error(`the channel already serves the newest test release (${state.version}); the test fleet has ${kernels.length} releases`);
  const at = new Date().toISOString();
  writeChannel(file, { ...state, version: next.osVersion, published: [...state.published, { version: next.osVersion, at }] });
  return { version: next.osVersion, kernelRelease: next.release, at };
}

/** The test kernel a published OS version carries. */
export function kernelOfVersion(kernels: TestKernel[], version: string): TestKernel {
  const k = kernels.find((x) => x.osVersion === version);
  if (!k) throw new Error(`no test release has OS version ${version} (known: ${kernels.map((x) => x.osVersion).join(", ")})`);
  return k;
}
