// lib/matmul_intf.h -- crnn_fast's HOST MODEL of the header that gives an Ascend C kernel the
// cube Matmul high-level API (see ../emu_matmul.h; not CANN's header).
#pragma once

#include "../emu_matmul.h"
