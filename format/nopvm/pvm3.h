/*
 * nopvm/pvm3.h: found before the system's pvm3.h when the format library is
 * compiled (format/CMakeLists.txt), so that PVM can never creep into it: the
 * formats are read by ckpt-info, which runs without PVM.
 */
#error "format/ must not use PVM: it is linked by ckpt-info, which has none"
