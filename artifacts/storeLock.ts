// The local artifact store's lock: one writer at a time (a put's check-and-write, a
// remove and its garbage collection), across processes and within one. A folder made with
// mkdir (atomic on every local file system, and portable where flock(2) is not reachable
// from Node) holds the owner's host and pid. It is held for the milliseconds of one
// synchronous step, so a lock whose owner is a dead process on this host, or that is
// older than STALE_MS, is stale and broken, by one waiter at a time (under a second mkdir lock) that checks
// again first, so a live lock taken meanwhile is never broken.

/** A lock older than this is stale: one step holds it for milliseconds. */
const STALE_MS = 30_000;
/** How long a writer waits for a live lock before it gives up and names the holder. */
const WAIT_MS = 120_000;

/** What `<lock>/owner` holds: who took the lock and when. */
type Owner = { host: string; pid: number; since: string };

function readOwner(lock: string): Owner | undefined {
  try {
    return JSON.parse(require("fs").readFileSync(`${lock}/owner`, "utf8"));
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === "EPERM";
  }
}

/** Why the lock is stale, or undefined when it may be live. */
function staleness(lock: string): string | undefined {
  const fs = require("fs");
  let age: number;
  try {
    age = Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return undefined; // gone: the next mkdir decides
  }
  const owner = readOwner(lock);
  if (owner && owner.host === require("os").hostname() && !alive(owner.pid)) return `its owner, pid ${owner.pid}, has exited`;
  if (age > STALE_MS) return `it was taken ${Math.round(age / 1000)} s ago`;
  return undefined;
}

/** Breaks a stale lock, one breaker at a time; the breaker checks again under its own lock. */
function breakIfStale(lock: string): void {
  const fs = require("fs");
  const breaker = `${lock}.break`;
  try {
    fs.mkdirSync(breaker);
  } catch {
    // Another waiter is breaking it; a breaker that died midway is itself stale.
    try {
      if (Date.now() - fs.statSync(breaker).mtimeMs > STALE_MS) fs.rmdirSync(breaker);
    } catch {}
    return;
  }
  try {
    if (staleness(lock)) {
      const aside = `${lock}.stale-${process.pid}-${require("crypto").randomBytes(4).toString("hex")}`;
      fs.renameSync(lock, aside);
      fs.rmSync(aside, { recursive: true, force: true });
    }
  } catch {
    // Released meanwhile: the next mkdir decides.
  } finally {
    fs.rmdirSync(breaker);
  }
}

function holderOf(lock: string): string {
  const o = readOwner(lock);
  return o ? `pid ${o.pid} on ${o.host} since ${o.since}` : "a process that has not written its name yet";
}

/** Runs fn, a synchronous step, holding the store's lock `<root>/.lock`. */
export async function withStoreLock<T>(root: string, fn: () => T): Promise<T> {
  const fs = require("fs");
  const lock = `${root}/.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e: any) {
      if (e?.code !== "EEXIST") throw e;
    }
    breakIfStale(lock);
    if (Date.now() > deadline) throw new Error(`the artifact store at ${root} is locked by ${holderOf(lock)} for more than ${WAIT_MS / 1000} s; if that process is gone, remove ${lock}`);
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
  }
  const owner: Owner = { host: require("os").hostname(), pid: process.pid, since: new Date().toISOString() };
  try {
    fs.writeFileSync(`${lock}/owner`, JSON.stringify(owner));
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}
