// The module-signing facts of a host: strict reading of what the kernel prints, and when
// the program warns that unsigned modules will be refused.
import { describe, expect, it } from "vitest";
import { parseSigningFacts, unsignedModulesWarning, unsignedRefusals, type SigningFacts } from "../../components/providers/hostFacts/signing";

const FLATCAR_SB = { moduleSigForce: "# CONFIG_MODULE_SIG_FORCE is not set", machineKeyring: "absent", sigEnforce: "N", lockdown: "none [integrity] confidentiality", secureBoot: "1" };
const facts = (over: Partial<SigningFacts> = {}): SigningFacts => ({ moduleSigForce: "n", machineKeyring: "n", sigEnforce: "N", lockdown: "none", secureBoot: "off", ...over });

describe("module-signing facts", () => {
  it.each([
    ["Flatcar under Secure Boot", FLATCAR_SB, { moduleSigForce: "n", machineKeyring: "n", sigEnforce: "N", lockdown: "integrity", secureBoot: "on" }],
    ["a forced kernel without EFI", { moduleSigForce: "CONFIG_MODULE_SIG_FORCE=y", machineKeyring: "CONFIG_INTEGRITY_MACHINE_KEYRING=y", sigEnforce: "Y", lockdown: "[none] integrity confidentiality", secureBoot: "not-efi" }, { moduleSigForce: "y", machineKeyring: "y", sigEnforce: "Y", lockdown: "none", secureBoot: "not-efi" }],
    ["a kernel without signatures, lockdown or a readable config", { moduleSigForce: "", machineKeyring: "", sigEnforce: "", lockdown: "", secureBoot: "" }, { moduleSigForce: "", machineKeyring: "", sigEnforce: "", lockdown: "", secureBoot: "" }],
  ])("%s", (_name, raw, want) => {
    expect(parseSigningFacts("h1", raw)).toEqual(want);
  });

  it("a host answering nonsense fails, naming every bad value and where it was read", () => {
    const raw = { moduleSigForce: "CONFIG_MODULE_SIG_FORCE=m", machineKeyring: "absent", sigEnforce: "yes", lockdown: "[none] [integrity]", secureBoot: "2" };
    let err = "";
    try {
      parseSigningFacts("h1", raw);
    } catch (e) {
      err = (e as Error).message;
    }
    expect(err).toMatch(/^h1: the host reported module-signing facts kmod-fleet cannot read:\n/);
    expect(err).toContain('moduleSigForce "CONFIG_MODULE_SIG_FORCE=m" (CONFIG_MODULE_SIG_FORCE in the running kernel config)');
    expect(err).toContain('sigEnforce "yes" (/sys/module/module/parameters/sig_enforce): expected Y or N');
    expect(err).toContain('lockdown "[none] [integrity]" (/sys/kernel/security/lockdown)');
    expect(err).toContain('secureBoot "2" (/sys/firmware/efi/efivars/SecureBoot-');
    expect(err).not.toContain("machineKeyring");
    for (const lockdown of ["none integrity", "[none] integrity bogus", "[none] none integrity", "<script>"]) {
      expect(() => parseSigningFacts("h1", { ...FLATCAR_SB, lockdown }), lockdown).toThrow(/lockdown/);
    }
  });

  it.each([
    ["nothing enforced", facts(), []],
    ["sig_enforce", facts({ sigEnforce: "Y", moduleSigForce: "y" }), ["module.sig_enforce=Y"]],
    ["forced in the config (sig_enforce not shown)", facts({ sigEnforce: "", moduleSigForce: "y" }), ["CONFIG_MODULE_SIG_FORCE=y"]],
    ["lockdown under Secure Boot", facts({ lockdown: "integrity", secureBoot: "on" }), ["kernel lockdown [integrity]", "EFI Secure Boot is on"]],
    ["Secure Boot, lockdown not shown", facts({ lockdown: "", secureBoot: "on" }), ["EFI Secure Boot is on (Flatcar's kernels lock down under it)"]],
    ["Secure Boot with lockdown none", facts({ lockdown: "none", secureBoot: "on" }), []],
  ])("refusals: %s", (_name, f, want) => {
    expect(unsignedRefusals(f)).toEqual(want);
  });

  it("warns only for a host that gets module sets, and says what to do", () => {
    const f = facts({ lockdown: "confidentiality", secureBoot: "on" });
    expect(unsignedModulesWarning("h1", f, [])).toBeUndefined();
    expect(unsignedModulesWarning("h1", facts(), ["nvidia"])).toBeUndefined();
    expect(unsignedModulesWarning("h1", f, ["nvidia", "zfs"])).toMatch(/^h1: this host refuses unsigned kernel modules \(kernel lockdown \[confidentiality\], EFI Secure Boot is on\), .* module sets nvidia, zfs will build but fail at modprobe .*trusts only the keys built into it/);
    expect(unsignedModulesWarning("h1", { ...f, machineKeyring: "y" }, ["zfs"])).toMatch(/sign them with a key enrolled as a Machine Owner Key \(mokutil --import/);
  });
});
