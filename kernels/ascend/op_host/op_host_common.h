// What the CANN tiling functions of op_host/*.cpp share: the UB size of the platform they tile
// for, and the end of each: the tiling data, the block dim and the workspace (the library API's
// bytes, then the kernel's).
#pragma once

#include <stdint.h>

#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace crnn_op_host {

inline uint64_t UbBytes(const platform_ascendc::PlatformAscendC &platform) {
  uint64_t ub = 0;
  platform.GetCoreMemSize(platform_ascendc::CoreMemType::UB, ub);
  return ub;
}

template <typename Tiling>
inline ge::graphStatus SetTiling(gert::TilingContext *context,
                                 const platform_ascendc::PlatformAscendC &platform, const Tiling &t,
                                 uint32_t blockDim, uint64_t kernelWorkspaceBytes) {
  *context->GetTilingData<Tiling>() = t;
  context->SetBlockDim(blockDim);
  context->GetWorkspaceSizes(1)[0] = platform.GetLibApiWorkSpaceSize() + kernelWorkspaceBytes;
  return ge::GRAPH_SUCCESS;
}

}  // namespace crnn_op_host
