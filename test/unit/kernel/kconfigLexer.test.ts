/** Where help text ends, as scripts/kconfig/lexer.l decides it. */
import { describe, expect, it } from "vitest";
import { model } from "./fixture";

const names = (kconfig: string) => [...model(kconfig).kconfig.symbols.keys()].sort();

describe("Kconfig lexer: end of help text", () => {
  it("an empty help, a blank line, then config at column 0 (4.x lib/Kconfig.debug)", () => {
    expect(names(`config A\n\tbool "a"\n\thelp\n\nconfig B\n\ttristate "b"\n`)).toEqual(["A", "B"]);
  });

  it("an empty ---help--- followed by a blank line and a column-0 line", () => {
    expect(names(`config A\n\tbool "a"\n\t---help---\n\nconfig B\n\ttristate "b"\n\nconfig C\n\tbool "c"\n`)).toEqual(["A", "B", "C"]);
  });

  it("a column-0 line ends help text even when the help's first line starts at column 0", () => {
    expect(names(`config A\n\tbool "a"\n\thelp\nconfig B\n\tbool "b"\n`)).toEqual(["A", "B"]);
  });

  it("a line indented less than the help's first line ends it; deeper lines and blank lines do not", () => {
    const k = `menu "m"\nconfig A\n\tbool "a"\n\thelp\n\t  first\n\t    deeper\n\n\t  config NOT_A_SYMBOL\n\tconfig B\n\t\tbool "b"\nendmenu\n`;
    expect(names(k)).toEqual(["A", "B"]);
  });
});
