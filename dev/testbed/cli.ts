// testbed CLI: `npm run testbed -- <command>`. See docs/testbed.md.
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { channelFile, down, findHost, readState, reboot, requireState, releaseLogFile, releaseModeFile, rollback, sshArgs, stackConfig, status, up, updateFromChannel, updateKernel } from "./fleet";
import { publishNext, readChannel } from "./channel";
import { ensureImages, missingPrerequisites } from "./images";
import { RELEASE_MODES, ReleaseMode, readModeTable, startReleaseServer, writeMode } from "./releaseServer";

const USAGE = `usage: npm run testbed -- <command>
  up [--hosts N] [--memory MB] [--cpus N] [--timeout S]   build what is missing, boot N hosts (default 2)
  down                                   stop every guest and the release server
  status [--json]                        per host: ssh port, key, host key, kernel, boot id, pending kernel
  ssh <host> [-- command...]             run a command (or a shell) on a host
  update-kernel <host> [--reboot]        stage the next kernel and OS version (pending until reboot)
  release publish                        the channel's current release becomes the next one (new OS version and kernel)
  release current                        print the OS version the channel serves as current
  update <host>                          update_engine on the host checks the channel and stages what it serves;
                                         the host's reboot manager (REBOOT_STRATEGY in /etc/flatcar/update.conf) reboots
  rollback <host>                        Flatcar's manual rollback: reboot into the release on the other partition
  reboot <host>                          reboot and wait for SSH with a new boot id
  stack-config                           print the kmod-fleet:fleet config value for this fleet (JSON)
  build                                  only build the cached images and the signed release
  release-server --mode ok|corrupt-image|bad-signature|missing [--version V]
  release-server status|log              current modes / request log (JSON lines)
  prerequisites                          list what is missing on this machine`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) throw new Error(`${name} needs a value`);
  return v;
}

function numberFlag(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} expects a number, got "${v}"`);
  return n;
}

const print = (v: unknown) => process.stdout.write(JSON.stringify(v, null, 2) + "\n");

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case "up": {
      await up({ hosts: numberFlag(args, "--hosts"), memoryMb: numberFlag(args, "--memory"), cpus: numberFlag(args, "--cpus"), timeoutSeconds: numberFlag(args, "--timeout") });
      for (const h of await status()) process.stdout.write(`${h.name}\t127.0.0.1:${h.sshPort}\t${h.state}\t${h.kernelRelease ?? "-"}\n`);
      return 0;
    }
    case "down":
      await down();
      return 0;
    case "status": {
      const st = await status();
      if (args.includes("--json")) print(st);
      else if (!st.length) process.stdout.write("the test fleet is not up\n");
      else for (const h of st) process.stdout.write(`${h.name}\t127.0.0.1:${h.sshPort}\t${h.state}\t${h.kernelRelease ?? "-"}\tOS ${h.osVersion ?? "-"}\tboot ${h.bootId ?? "-"}${h.pendingKernel ? `\tpending ${h.pendingKernel}` : ""}\n`);
      return 0;
    }
    case "ssh": {
      const name = args[0];
      if (!name) throw new Error("usage: ssh <host> [-- command...]");
      const sep = args.indexOf("--");
      const command = sep >= 0 ? args.slice(sep + 1) : [];
      const h = findHost(name);
      const tty = command.length === 0 && process.stdin.isTTY ? ["-t"] : [];
      const r = spawnSync("ssh", [...sshArgs(h, tty), ...command], { stdio: "inherit" });
      return r.status ?? 1;
    }
    case "update-kernel": {
      if (!args[0]) throw new Error("usage: update-kernel <host> [--reboot]");
      print(await updateKernel(args[0], { reboot: args.includes("--reboot") }));
      return 0;
    }
    case "release": {
      if (args[0] === "publish") print(publishNext(channelFile(), requireState().kernels));
      else if (args[0] === "current") {
        requireState();
        const channel = readChannel(channelFile());
        if (!channel) throw new Error("the running fleet has no release channel (it was started before channels existed): run `npm run testbed -- down` and `up`");
        process.stdout.write(`${channel.version}\n`);
      }
      else throw new Error("usage: release publish | release current");
      return 0;
    }
    case "update": {
      if (!args[0]) throw new Error("usage: update <host>");
      print(await updateFromChannel(args[0]));
      return 0;
    }
    case "rollback": {
      if (!args[0]) throw new Error("usage: rollback <host>");
      print(await rollback(args[0]));
      return 0;
    }
    case "reboot": {
      if (!args[0]) throw new Error("usage: reboot <host>");
      print(await reboot(args[0]));
      return 0;
    }
    case "stack-config":
      print(await stackConfig());
      return 0;
    case "build":
      print(await ensureImages().then((i) => ({ hostDir: i.hostDir, devDir: i.devDir, releaseRoot: i.releaseRoot, signingKeyFingerprint: i.key.fingerprint })));
      return 0;
    case "prerequisites": {
      const m = missingPrerequisites();
      process.stdout.write(m.length ? `missing:\n${m.map((x) => `  ${x}\n`).join("")}` : "all prerequisites are installed\n");
      return m.length ? 1 : 0;
    }
    case "release-server":
      return releaseServerCommand(args);
    default:
      process.stderr.write(`${cmd ? `unknown command "${cmd}"\n` : ""}${USAGE}\n`);
      return 2;
  }
}

async function releaseServerCommand(args: string[]): Promise<number> {
  const sub = args[0];
  if (sub === "serve") {
    // Run by `up` as a detached process.
    const root = flag(args, "--root");
    if (!root) throw new Error("release-server serve needs --root");
    const srv = await startReleaseServer({ root, port: numberFlag(args, "--port") ?? 0, modeFile: releaseModeFile(), requestLog: releaseLogFile(), channelFile: flag(args, "--channel") });
    process.stderr.write(`release server on ${srv.url} (guests: ${srv.guestUrl}), root ${root}\n`);
    const stop = () => void srv.close().then(() => process.exit(0));
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    return new Promise<number>(() => undefined);
  }
  if (sub === "status") {
    const s = readState();
    print({ running: !!s, port: s?.releaseServer.port ?? null, url: s ? `http://127.0.0.1:${s.releaseServer.port}` : null, guestUrl: s ? `http://10.0.2.2:${s.releaseServer.port}` : null, modes: readModeTable(releaseModeFile()) });
    return 0;
  }
  if (sub === "log") {
    if (fs.existsSync(releaseLogFile())) process.stdout.write(fs.readFileSync(releaseLogFile(), "utf8"));
    return 0;
  }
  const mode = flag(args, "--mode");
  if (!mode) throw new Error("usage: release-server --mode ok|corrupt-image|bad-signature|missing [--version V] | status | log");
  if (!RELEASE_MODES.includes(mode as ReleaseMode)) throw new Error(`unknown mode "${mode}"; expected one of ${RELEASE_MODES.join(", ")}`);
  print(writeMode(releaseModeFile(), mode as ReleaseMode, flag(args, "--version")));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`testbed: ${e.message}\n`);
    process.exit(1);
  },
);
