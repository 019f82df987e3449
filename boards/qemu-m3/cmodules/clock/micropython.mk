# The emulated board's one C addition (make USER_C_MODULES=boards/qemu-m3/cmodules):
# littlefs stamps files with mp_hal_time_ns(), which the qemu port lacks.
SRC_USERMOD_LIB_C += $(USERMOD_DIR)/time_ns.c
