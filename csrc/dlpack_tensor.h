// Tensors of any framework (PyTorch, CuPy, NumPy, JAX) through the DLPack protocol: an object's
// __dlpack__() capsule ("dltensor") holds a DLManagedTensor. The structs below are DLPack's
// stable C ABI (v0.8, unversioned capsules), declared here from its specification. The bindings
// only borrow the memory: the capsule keeps its producer's deleter and releases the view when
// it is collected, after the call.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace crnn {
namespace bind {

namespace py = pybind11;

namespace dl {
enum DeviceType : int32_t { kCPU = 1, kCUDA = 2, kCUDAHost = 3, kCUDAManaged = 13 };
enum TypeCode : uint8_t { kInt = 0, kUInt = 1, kFloat = 2, kBfloat = 4 };
struct Device {
  int32_t device_type, device_id;
};
struct DataType {
  uint8_t code, bits;
  uint16_t lanes;
};
struct Tensor {
  void *data;
  Device device;
  int32_t ndim;
  DataType dtype;
  int64_t *shape, *strides;  // strides in elements; NULL: C-contiguous
  uint64_t byte_offset;
};
struct ManagedTensor {
  Tensor dl_tensor;
  void *manager_ctx;
  void (*deleter)(ManagedTensor *);
};
}  // namespace dl

// A borrowed, C-contiguous view of a DLPack tensor.
struct DlView {
  py::object capsule;  // keeps the view alive
  void *data = nullptr;
  int32_t device_type = 0, device_id = 0;
  std::vector<int64_t> shape;
  std::string dtype;  // the element type matched: "float32", "float16", "bfloat16", ...

  int64_t dim(int i) const { return shape[i]; }
  template <typename T>
  T *ptr() const {
    return static_cast<T *>(data);
  }
};

// Views `obj` (anything with __dlpack__) as a C-contiguous tensor of `ndim` dimensions and
// element type `dtype` ("float32", "float64", "float16", "bfloat16" or "int32"; alternatives
// separated by '|', e.g. "float32|float16"); TypeError / ValueError naming `name` otherwise.
DlView dl_view(py::handle obj, const char *name, const char *dtype, int ndim);

// The same, or an empty view when `obj` is None.
DlView dl_view_or_none(py::handle obj, const char *name, const char *dtype, int ndim);

// Requires every given view to be on the device of the first; returns the crnn_device_t for
// it: CUDA memory -> CRNN_DEVICE_CUDA; host memory -> `host_device` (CPU or CUDA_EMU).
int32_t dl_device(std::initializer_list<const DlView *> views, int32_t host_device);

}  // namespace bind
}  // namespace crnn
