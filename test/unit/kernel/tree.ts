/**
 * A miniature of the seed's dead end: DRM selects HDMI, a prompt-less bool whose object
 * links into vmlinux; I915 depends on DRM and selects a bool that only adds a file to a
 * helper module (must not be flagged).
 */
export const MINI_TREE: Record<string, string> = {
  Kconfig: `config MODULES
	bool "modules"
	modules
source "drivers/Kconfig"
`,
  "drivers/Kconfig": `config HDMI
	bool
config DRM
	tristate "DRM"
	select HDMI
	select DRM_HELPER
config DRM_HELPER
	tristate
config DRM_HDMI_HELPER
	bool
	depends on DRM_HELPER
config I915
	tristate "i915"
	depends on DRM && !NO_GFX
	select DRM_HDMI_HELPER
config NO_GFX
	bool "no graphics"
config HV
	tristate "hyperv"
config DBG
	bool "debug"
config FB
	bool "framebuffer"
	select HDMI
`,
  // Every real tree has its architecture's Kconfig; the CLI refuses an --arch without one.
  "arch/x86/Kconfig": "",
  Kbuild: "obj-y += drivers/\n",
  "drivers/Makefile": "obj-y += video/ gpu/\nobj-$(subst m,y,$(CONFIG_HV)) += hv/\n",
  "drivers/video/Makefile": "obj-$(CONFIG_HDMI) += hdmi.o\n",
  "drivers/video/hdmi.c": "int hdmi_init(void) { return 0; }\nEXPORT_SYMBOL(hdmi_init);\n",
  "drivers/hv/Makefile": "obj-y += hv_core.o\nifdef CONFIG_DBG\nobj-y += hv_debug.o\nelse\nobj-y += hv_nodebug.o\nendif\n",
  "drivers/gpu/Makefile": `obj-$(CONFIG_DRM) += drm.o
drm-y := drm_core.o
obj-$(CONFIG_DRM_HELPER) += helper.o
helper-y := helper_core.o
helper-$(CONFIG_DRM_HDMI_HELPER) += hdmi/helper_hdmi.o
obj-$(CONFIG_I915) += i915/
`,
  "drivers/gpu/drm_core.c": "EXPORT_SYMBOL_GPL(drm_open);\n",
  "drivers/gpu/i915/Makefile": "i915-y := i915_drv.o\nobj-$(CONFIG_I915) += i915.o\n",
};
