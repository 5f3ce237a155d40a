// Host model of CANN's platform_ascendc::PlatformAscendC (the subset crnn_fast's tiling functions
// use), over the model's fe::PlatFormInfos (op_host_api/register/op_def_registry.h): a 910B by
// default (40 AIV, 20 AIC, 192 KiB UB). Not CANN's header.
#pragma once

#include <stdint.h>

#include "register/op_def_registry.h"

namespace platform_ascendc {

enum class CoreMemType { UB = 0 };

class PlatformAscendC {
 public:
  explicit PlatformAscendC(const fe::PlatFormInfos *p) : info(p) {}
  uint32_t GetCoreNumAiv() const { return info->aivNum; }
  uint32_t GetCoreNumAic() const { return info->aicNum; }
  void GetCoreMemSize(CoreMemType type, uint64_t &size) const {
    (void)type;
    size = info->ubBytes;
  }
  uint32_t GetLibApiWorkSpaceSize() const { return uint32_t(info->libApiWorkspace); }

 private:
  const fe::PlatFormInfos *info;
};

}  // namespace platform_ascendc
