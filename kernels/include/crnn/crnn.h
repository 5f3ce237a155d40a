// crnn_fast kernel C API, all ops: include this (with kernels/include on the include path) and
// link the kernel library (CMake target crnn_kernels). See status.h for the conventions.
#pragma once

#include "adamw.h"
#include "checks.h"
#include "conv2d.h"
#include "conv_block.h"
#include "ctc_decode.h"
#include "ctc_loss.h"
#include "device_memory.h"
#include "lstm.h"
#include "matmul_precision.h"
#include "status.h"
