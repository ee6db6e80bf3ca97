import { describe, expect, it } from "vitest";
import { values } from "./fixture";

// One row per Kconfig rule that had to be right to agree with olddefconfig
// (see notes/kconfig.md). Each: Kconfig, .config, expected values.
const MODULES = "config MODULES\n\tbool \"modules\"\n\tmodules\n";

const cases: { rule: string; kconfig: string; config: string; want: Record<string, string>; files?: Record<string, string> }[] = [
  {
    rule: "a user value is capped by the dependencies (m && y-request → m)",
    kconfig: `${MODULES}config A\n\ttristate "a"\nconfig B\n\ttristate "b"\n\tdepends on A\n`,
    config: "CONFIG_MODULES=y\nCONFIG_A=m\nCONFIG_B=y\n",
    want: { A: "m", B: "m" },
  },
  {
    rule: "a request whose dependency is off is dropped",
    kconfig: `${MODULES}config A\n\ttristate "a"\nconfig B\n\ttristate "b"\n\tdepends on A\n`,
    config: "CONFIG_MODULES=y\nCONFIG_B=m\n",
    want: { A: "n", B: "n" },
  },
  {
    rule: "select ignores the target's dependencies; a bool selected by an m symbol is y",
    kconfig: `${MODULES}config OFF\n\tbool "off"\nconfig HDMI\n\tbool\n\tdepends on OFF\nconfig DRM\n\ttristate "drm"\n\tselect HDMI\n`,
    config: "CONFIG_MODULES=y\nCONFIG_DRM=m\n",
    want: { HDMI: "y", DRM: "m" },
  },
  {
    rule: "select is limited by the selecting symbol's value and its if condition",
    kconfig: `${MODULES}config C\n\tbool "c"\nconfig T\n\ttristate\nconfig U\n\ttristate\nconfig S\n\ttristate "s"\n\tselect T\n\tselect U if C\n`,
    config: "CONFIG_MODULES=y\nCONFIG_S=m\n",
    want: { T: "m", U: "n" },
  },
  {
    rule: "if blocks and menu depends on add dependencies to every entry inside",
    kconfig: `${MODULES}config X\n\tbool "x"\nif X\nconfig A\n\tbool "a"\n\tdefault y\nendif\nmenu "m"\n\tdepends on X\nconfig B\n\tbool "b"\n\tdefault y\nendmenu\n`,
    config: "CONFIG_MODULES=y\n# CONFIG_X is not set\n",
    want: { A: "n", B: "n" },
  },
  {
    rule: "imply is a weak select: it sets an unset visible symbol, but not one the user set to n",
    kconfig: `${MODULES}config T1\n\ttristate "t1"\nconfig T2\n\ttristate "t2"\nconfig S\n\ttristate "s"\n\timply T1\n\timply T2\n`,
    config: "CONFIG_MODULES=y\nCONFIG_S=m\n# CONFIG_T2 is not set\n",
    want: { T1: "m", T2: "n" },
  },
  {
    rule: "depends on X || !X: at most m when X is m",
    kconfig: `${MODULES}config X\n\ttristate "x"\nconfig A\n\ttristate "a"\n\tdepends on X || !X\n`,
    config: "CONFIG_MODULES=y\nCONFIG_X=m\nCONFIG_A=y\n",
    want: { A: "m" },
  },
  {
    rule: "X || X=n behaves like X || !X",
    kconfig: `${MODULES}config X\n\ttristate "x"\nconfig A\n\ttristate "a"\n\tdepends on X || X=n\n`,
    config: "CONFIG_MODULES=y\nCONFIG_A=y\n",
    want: { A: "y" },
  },
  {
    rule: "comparisons between symbols: FB=y || FB=DRM_KMS_HELPER",
    kconfig: `${MODULES}config FB\n\ttristate "fb"\nconfig K\n\ttristate "k"\nconfig A\n\tbool "a"\n\tdepends on FB=y || FB=K\n`,
    config: "CONFIG_MODULES=y\nCONFIG_FB=m\nCONFIG_K=m\nCONFIG_A=y\n",
    want: { A: "y" },
  },
  {
    rule: "def_bool and def_tristate; the first default whose condition holds wins",
    kconfig: `${MODULES}config X\n\tbool "x"\nconfig A\n\tdef_bool y if X\nconfig B\n\tdef_tristate m\nconfig C\n\tint\n\tdefault 8 if X\n\tdefault 4\n`,
    config: "CONFIG_MODULES=y\n",
    want: { A: "n", B: "m", C: "4" },
  },
  {
    rule: "a symbol defined twice ORs its dependencies and keeps both prompts",
    kconfig: `${MODULES}config P\n\tbool "p"\nconfig Q\n\tbool "q"\nconfig A\n\tbool "a"\n\tdepends on P\nconfig A\n\tbool "a again"\n\tdepends on Q\n`,
    config: "CONFIG_MODULES=y\nCONFIG_Q=y\nCONFIG_A=y\n",
    want: { A: "y" },
  },
  {
    rule: "choice: the user's visible selection wins, else the default, else the first visible value",
    kconfig: `${MODULES}choice\n\tprompt "c"\n\tdefault C2\nconfig C1\n\tbool "1"\nconfig C2\n\tbool "2"\nendchoice\nchoice\n\tprompt "d"\n\tdefault D2\nconfig D1\n\tbool "1"\nconfig D2\n\tbool "2"\nendchoice\n`,
    config: "CONFIG_MODULES=y\nCONFIG_C1=y\n",
    want: { C1: "y", C2: "n", D1: "n", D2: "y" },
  },
  {
    rule: "source with $(SRCARCH) (6.1) and $SRCARCH with option env (4.x)",
    kconfig: `${MODULES}config SRCARCH\n\tstring\n\toption env="SRCARCH"\nsource "arch/$(SRCARCH)/Kconfig"\nsource "arch/$SRCARCH/Kconfig.old"\n`,
    config: "CONFIG_MODULES=y\n",
    files: { "arch/x86/Kconfig": "config NEW\n\tdef_bool y\n", "arch/x86/Kconfig.old": "config OLD\n\tdef_bool y\n" },
    want: { NEW: "y", OLD: "y" },
  },
  {
    rule: "a compiler probe default takes the running config's value",
    kconfig: `${MODULES}cc-option = $(success,$(CC) -Werror $(1) -c -x c /dev/null -o /dev/null)\nconfig CC_HAS_X\n\tdef_bool $(cc-option,-mx)\nconfig A\n\tbool "a"\n\tdepends on CC_HAS_X\n`,
    config: "CONFIG_MODULES=y\nCONFIG_CC_HAS_X=y\nCONFIG_A=y\n",
    want: { CC_HAS_X: "y", A: "y" },
  },
  {
    rule: "a comparison on a build-environment value (arm64's \"$(CROSS_COMPILE_COMPAT)\" != \"\") is assumed to hold, like a probe",
    kconfig: `${MODULES}config V\n\tbool "v"\n\tdepends on "$(CROSS_COMPILE_COMPAT)" != ""\n\tdefault y\n`,
    config: "CONFIG_MODULES=y\n",
    want: { V: "y" },
  },
  {
    rule: "4.x spellings: ---help--- blocks, option modules, depends without on",
    kconfig: `config MODULES\n\tbool "modules"\n\toption modules\n\t---help---\n\t  config NOT_A_SYMBOL\n\t  text\nconfig A\n\ttristate "a"\n\tdepends MODULES\n`,
    config: "CONFIG_MODULES=y\nCONFIG_A=m\n",
    want: { A: "m", NOT_A_SYMBOL: "NOT_A_SYMBOL" },
  },
];

describe("Kconfig evaluation rules", () => {
  it.each(cases)("$rule", ({ kconfig, config, want, files }) => {
    expect(values(kconfig, config, Object.keys(want), files)).toEqual(want);
  });
});
