// One writer at a time for a part of the testbed's cache. `npm test` builds the fleet's
// images in the background while the suites that need no VM run, and the fleet tests then
// ask for the same images: without the lock both would build, each removing the other's
// half-written folder. A lock is a directory (mkdir is atomic) holding its owner's pid; a
// lock whose owner is gone (killed, machine rebooted) is taken over.
import * as fs from "node:fs";
import * as path from "node:path";

const POLL_MS = 2000;

function ownerAlive(lockDir: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(lockDir, "pid"), "utf8"));
  } catch {
    // Just created, its pid not written yet: alive, unless it stayed so for a minute.
    try {
      return Date.now() - fs.statSync(lockDir).mtimeMs < 60_000;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `work` holding the lock `lockDir`; waits (saying so once) while another process holds it. */
export async function withCacheLock<T>(lockDir: string, what: string, work: () => Promise<T>, log: (msg: string) => void): Promise<T> {
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (!ownerAlive(lockDir)) {
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for another process that builds ${what} (lock ${lockDir})`);
    said = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  fs.writeFileSync(path.join(lockDir, "pid"), String(process.pid));
  try {
    return await work();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
