// What the CANN tiling functions of op_host/*.cpp share: the UB size of the platform they tile
// for, and the end of each: the tiling data, the block dim and the workspace (the library API's
// bytes, then the kernel's).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <vector>

#include "register/op_def_registry.h"
#include "tiling/platform/platform_ascendc.h"

namespace crnn_op_host {

// Input i's storage shape, or nullptr where the (optional) input is absent.
inline const gert::Shape *InputStorageShape(gert::TilingContext *context, size_t i) {
  const gert::StorageShape *s = context->GetInputShape(i);
  return s ? &s->GetStorageShape() : nullptr;
}

// InferShape: outputs 0 .. n-1 get the shapes dims[0 .. n-1]; GRAPH_FAILED where one is absent.
inline ge::graphStatus SetOutputShapes(gert::InferShapeContext *context,
                                       const std::vector<int64_t> *dims, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    gert::Shape *out = context->GetOutputShape(i);
    if (!out) return ge::GRAPH_FAILED;
    out->SetDimNum(dims[i].size());
    for (size_t k = 0; k < dims[i].size(); ++k) out->SetDim(k, dims[i][k]);
  }
  return ge::GRAPH_SUCCESS;
}

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
