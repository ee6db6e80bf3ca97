/**
 * A miniature tree with three architectures, for what an option of (or depending on)
 * another architecture gives: arch/x86 defines X86 and X86_MSR, arch/arm64 ARM64,
 * arch/riscv RISCV and RISCV_SBI_X; the generic drivers depend on them the way DRM_I915
 * (`depends on X86 && PCI`), THERM_WINDTUNNEL (under a `PPC || X86` menu) and I2C_AMD_MP2
 * (`depends on X86_MSR`, defined only under arch/x86) do.
 */
export const ARCH_TREE: Record<string, string> = {
  Kconfig: `config MODULES
	bool "modules"
	modules
source "arch/$(SRCARCH)/Kconfig"
source "drivers/Kconfig"
`,
  "arch/x86/Kconfig": `config X86
	def_bool y
	select HAVE_FAST_GUP
config X86_MSR
	tristate "/dev/cpu/*/msr"
source "arch/x86/Kconfig.cpu"
`,
  "arch/x86/Kconfig.cpu": `config X86_CPU_ONLY
	tristate "an option in a file arch/x86/Kconfig sources"
`,
  "arch/arm64/Kconfig": `config ARM64
	def_bool y
`,
  "arch/riscv/Kconfig": `config RISCV
	def_bool y
config RISCV_SBI_X
	tristate "an SBI driver"
`,
  "drivers/Kconfig": `config PCI
	bool "PCI"
config I2C
	tristate "I2C"
config COMPILE_TEST
	bool "compile also drivers which will not load"
config HAVE_FAST_GUP
	bool
config GPU_X86
	tristate "an x86 graphics driver"
	depends on X86 && PCI
	select I2C
menuconfig MAC_DRIVERS
	bool "Macintosh drivers"
	depends on PPC || X86
if MAC_DRIVERS
config THERM_MAC
	tristate "a Mac thermal driver"
	depends on I2C
endif
config MSR_USER
	tristate "reads MSRs"
	depends on X86_MSR
config NOT_ON_ARM64
	tristate "anything but arm64"
	depends on !ARM64
config ARM_OR_TEST
	tristate "arm64 driver, build-testable elsewhere"
	depends on ARM64 || COMPILE_TEST
config FAST_GUP_USER
	tristate "needs fast GUP"
	depends on HAVE_FAST_GUP
`,
  Kbuild: "obj-y += drivers/\n",
  "drivers/Makefile": `obj-$(CONFIG_I2C) += i2c.o
obj-$(CONFIG_GPU_X86) += gpu.o
obj-$(CONFIG_THERM_MAC) += therm.o
obj-$(CONFIG_MSR_USER) += msr_user.o
obj-$(CONFIG_NOT_ON_ARM64) += not_arm.o
obj-$(CONFIG_ARM_OR_TEST) += arm_or_test.o
obj-$(CONFIG_FAST_GUP_USER) += gup_user.o
obj-$(CONFIG_RISCV_SBI_X) += sbi.o
obj-$(CONFIG_X86_MSR) += msr.o
`,
};
