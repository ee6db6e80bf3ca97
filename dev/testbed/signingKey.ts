// The fleet's test signing key: an OpenPGP key made with gpg in its own home directory,
// used to sign developer containers the way Flatcar signs its images (detached
// signature next to the file). Exported for the provider tests, which sign tiny payloads.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runOk, run } from "./exec";

export interface SigningKey {
  /** GNUPGHOME holding the secret key. */
  homedir: string;
  /** 40 hex digits. */
  fingerprint: string;
  /** ASCII-armored public key. */
  publicKeyArmored: string;
}

const gpgBase = ["--batch", "--no-tty", "--quiet"];

/**
 * Returns the key in `homedir`, generating it first when there is none. The key has no
 * passphrase: it only protects test images.
 */
export async function ensureSigningKey(homedir: string, userId = "kmod-fleet testbed <testbed@kmod-fleet.invalid>"): Promise<SigningKey> {
  fs.mkdirSync(homedir, { recursive: true, mode: 0o700 });
  fs.chmodSync(homedir, 0o700);
  try {
    let fpr = await secretFingerprint(homedir);
    if (!fpr) {
      await runOk("gpg", [...gpgBase, "--homedir", homedir, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", userId, "ed25519", "sign", "never"]);
      fpr = await secretFingerprint(homedir);
      if (!fpr) throw new Error(`gpg made no secret key in ${homedir}`);
    }
    const pub = await runOk("gpg", [...gpgBase, "--homedir", homedir, "--armor", "--export", fpr]);
    return { homedir, fingerprint: fpr, publicKeyArmored: pub.stdout };
  } finally {
    await stopAgent(homedir);
  }
}

/** gpg starts an agent per home directory; stop it so no process outlives the fleet. */
async function stopAgent(homedir: string): Promise<void> {
  await run("gpgconf", ["--homedir", homedir, "--kill", "gpg-agent"]);
}

async function secretFingerprint(homedir: string): Promise<string | undefined> {
  const r = await run("gpg", [...gpgBase, "--homedir", homedir, "--with-colons", "--list-secret-keys"]);
  if (r.code !== 0) return undefined;
  const line = r.stdout.split("\n").find((l) => l.startsWith("fpr:"));
  return line?.split(":")[9] || undefined;
}

/** Writes a detached binary signature of `file` to `sigFile`. */
export async function signDetached(key: SigningKey, file: string, sigFile: string): Promise<void> {
  const tmp = `${sigFile}.tmp`;
  fs.rmSync(tmp, { force: true });
  try {
    await runOk("gpg", [...gpgBase, "--homedir", key.homedir, "--local-user", key.fingerprint, "--detach-sign", "--output", tmp, file]);
  } finally {
    await stopAgent(key.homedir);
  }
  fs.renameSync(tmp, sigFile);
}

/**
 * Checks a detached signature against only the given armored public key (a throwaway
 * keyring, like a host that trusts just the configured key). Returns gpg's verdict.
 */
export async function verifyDetached(publicKeyArmored: string, file: string, sigFile: string): Promise<{ ok: boolean; output: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "testbed-gpgv-"));
  try {
    fs.chmodSync(home, 0o700);
    await runOk("gpg", [...gpgBase, "--homedir", home, "--import"], { input: publicKeyArmored });
    const r = await run("gpg", ["--batch", "--no-tty", "--homedir", home, "--verify", sigFile, file]);
    return { ok: r.code === 0, output: (r.stderr + r.stdout).trim() };
  } finally {
    await stopAgent(home);
    fs.rmSync(home, { recursive: true, force: true });
  }
}
