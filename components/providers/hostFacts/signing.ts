// Whether a host's kernel refuses unsigned modules, from what the facts script reads there:
// the running config's CONFIG_MODULE_SIG_FORCE (and whether it trusts Machine Owner Keys),
// /sys/module/module/parameters/sig_enforce, /sys/kernel/security/lockdown and the EFI
// SecureBoot variable. kmod-fleet builds modules without signing them, so on such a host
// every module set would build and then fail at modprobe ("Key was rejected by service");
// the program warns before that (a Pulumi warning in preview and up).
//
// The raw values come from a host that may answer anything: each must have exactly the
// shape the kernel prints, or the host's facts fail naming the value and where it was read.

export interface SigningFacts {
  /** CONFIG_MODULE_SIG_FORCE of the running config: "y", "n" (not set or no such option), "" (no config found). */
  moduleSigForce: "y" | "n" | "";
  /** CONFIG_INTEGRITY_MACHINE_KEYRING (keys enrolled as Machine Owner Keys can sign modules): "y", "n", "". */
  machineKeyring: "y" | "n" | "";
  /** module.sig_enforce: "Y", "N", or "" when the kernel has no module signatures at all. */
  sigEnforce: "Y" | "N" | "";
  /** The active lockdown mode, "" when the host shows none (no lockdown LSM, or securityfs not mounted). */
  lockdown: "none" | "integrity" | "confidentiality" | "";
  /** EFI Secure Boot: "on", "off", "not-efi" (booted without EFI), "" (EFI, but the variable could not be read). */
  secureBoot: "on" | "off" | "not-efi" | "";
}

/** The raw lines the facts script prints for these, by key. */
export const SIGNING_SOURCES: Record<keyof SigningFacts, string> = {
  moduleSigForce: "CONFIG_MODULE_SIG_FORCE in the running kernel config",
  machineKeyring: "CONFIG_INTEGRITY_MACHINE_KEYRING in the running kernel config",
  sigEnforce: "/sys/module/module/parameters/sig_enforce",
  lockdown: "/sys/kernel/security/lockdown",
  secureBoot: "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e98c0a2c9a4e (5th byte)",
};

/** A config line as the facts script reports it: the line, "absent" (config without it) or "" (no config). */
function configOption(name: string, raw: string): "y" | "n" | "" | undefined {
  if (raw === "") return "";
  if (raw === "absent" || raw === `# CONFIG_${name} is not set`) return "n";
  if (raw === `CONFIG_${name}=y`) return "y";
  return undefined;
}

const LOCKDOWN_MODES = ["none", "integrity", "confidentiality"];

/** "[none] integrity confidentiality" → "none": known modes only, exactly one of them in brackets. */
function lockdownMode(raw: string): SigningFacts["lockdown"] | undefined {
  if (raw === "") return "";
  const words = raw.trim().split(" ");
  const active = words.filter((w) => /^\[[a-z]+\]$/.test(w)).map((w) => w.slice(1, -1));
  const names = words.map((w) => w.replace(/^\[([a-z]+)\]$/, "$1"));
  if (active.length !== 1 || !names.every((n) => LOCKDOWN_MODES.includes(n)) || new Set(names).size !== names.length) return undefined;
  return active[0] as SigningFacts["lockdown"];
}

/**
 * The signing facts of a host's raw answers; throws one error listing every value that
 * does not have the shape the kernel gives it.
 */
export function parseSigningFacts(host: string, raw: Partial<Record<keyof SigningFacts, string>>): SigningFacts {
  const bad: string[] = [];
  const check = <T>(key: keyof SigningFacts, value: T | undefined, expected: string): T => {
    if (value === undefined) bad.push(`  ${key} ${JSON.stringify(raw[key])} (${SIGNING_SOURCES[key]}): expected ${expected}`);
    return value as T;
  };
  const facts: SigningFacts = {
    moduleSigForce: check("moduleSigForce", configOption("MODULE_SIG_FORCE", raw.moduleSigForce ?? ""), "CONFIG_MODULE_SIG_FORCE=y, # CONFIG_MODULE_SIG_FORCE is not set, or no such line"),
    machineKeyring: check("machineKeyring", configOption("INTEGRITY_MACHINE_KEYRING", raw.machineKeyring ?? ""), "CONFIG_INTEGRITY_MACHINE_KEYRING=y, not set, or no such line"),
    sigEnforce: check("sigEnforce", ["", "Y", "N"].includes(raw.sigEnforce ?? "") ? ((raw.sigEnforce ?? "") as SigningFacts["sigEnforce"]) : undefined, "Y or N"),
    lockdown: check("lockdown", lockdownMode(raw.lockdown ?? ""), "the modes none, integrity, confidentiality with the active one in brackets"),
    secureBoot: check("secureBoot", ({ "1": "on", "0": "off", "not-efi": "not-efi", "": "" } as Record<string, SigningFacts["secureBoot"]>)[raw.secureBoot ?? ""], "1 or 0"),
  };
  if (bad.length) throw new Error(`${host}: the host reported module-signing facts kmod-fleet cannot read:\n${bad.join("\n")}\nfix the host or report a kernel that prints these differently`);
  return facts;
}

/** Why this host's kernel refuses unsigned modules (empty: it loads them, as far as the host shows). */
export function unsignedRefusals(f: SigningFacts): string[] {
  const why: string[] = [];
  if (f.sigEnforce === "Y") why.push("module.sig_enforce=Y");
  else if (f.moduleSigForce === "y") why.push("CONFIG_MODULE_SIG_FORCE=y");
  if (f.lockdown === "integrity" || f.lockdown === "confidentiality") why.push(`kernel lockdown [${f.lockdown}]`);
  // Secure Boot turns lockdown on in Flatcar's kernels; without a readable lockdown file, say it is likely.
  if (f.secureBoot === "on" && f.lockdown === "") why.push("EFI Secure Boot is on (Flatcar's kernels lock down under it)");
  else if (f.secureBoot === "on" && why.length) why.push("EFI Secure Boot is on");
  return why;
}

/** What to do about a kernel that refuses unsigned modules, for the warning and the CLI. */
export function signingAdvice(machineKeyring: SigningFacts["machineKeyring"]): string {
  const key =
    machineKeyring === "y"
      ? "sign them with a key enrolled as a Machine Owner Key (mokutil --import, confirmed at the next boot), which this kernel trusts for modules, using the kernel's scripts/sign-file"
      : "sign them with a key the kernel trusts; a kernel that trusts only the keys built into it cannot load a module built elsewhere (Flatcar signs its own modules with a key made for each build and thrown away, and does not trust Machine Owner Keys)";
  return `To load them, ${key}; or boot the host with Secure Boot and lockdown off (see Flatcar's documentation on Secure Boot).`;
}

/** The warning for a host that refuses unsigned modules and gets module sets built; undefined otherwise. */
export function unsignedModulesWarning(host: string, f: SigningFacts, sets: string[]): string | undefined {
  const why = unsignedRefusals(f);
  if (!why.length || !sets.length) return undefined;
  return (
    `${host}: this host refuses unsigned kernel modules (${why.join(", ")}), and the modules kmod-fleet builds are not signed: ` +
    `module set${sets.length === 1 ? "" : "s"} ${sets.join(", ")} will build but fail at modprobe ("Key was rejected by service" or "Lockdown: ... unsigned module loading is restricted"). ` +
    signingAdvice(f.machineKeyring)
  );
}
