// Host model of CANN's op_host registration API, the subset crnn_fast's op_host files use
// (kernels/ascend/op_host/*.cpp): ge:: status / dtype / format enums, gert:: contexts (shapes,
// value-depend input tensors, attributes, tiling data, workspace sizes, block dim) and the
// ops::OpDef builder with OP_ADD. Written here from the public signatures (ASCEND.md §1.5, the
// Ascend C operator-project documentation); not CANN's header. It lets the op_host sources
// compile with g++ and their tiling / InferShape / InferDataType functions run in
// tests/ascend/test_ascend_op_host.cpp against the host drivers' tiling. Whether they compile
// against CANN's real headers is not checked here.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fe {
struct PlatFormInfos {
  uint32_t aivNum = 40, aicNum = 20;
  uint64_t ubBytes = 192 * 1024, libApiWorkspace = 16 * 1024 * 1024;
};
}  // namespace fe

namespace ge {
using graphStatus = uint32_t;
constexpr graphStatus GRAPH_SUCCESS = 0;
constexpr graphStatus GRAPH_FAILED = 0xFFFFFFFF;
// CANN's values (graph/types.h); DT_INT8: the LSTM ops' shape-encoded config.
enum DataType {
  DT_FLOAT = 0,
  DT_FLOAT16 = 1,
  DT_INT8 = 2,
  DT_INT32 = 3,
  DT_UINT64 = 10,
  DT_BF16 = 27
};
enum Format { FORMAT_ND = 2 };
}  // namespace ge

namespace gert {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> d) : dims(d) {}
  size_t GetDimNum() const { return dims.size(); }
  int64_t GetDim(size_t i) const { return i < dims.size() ? dims[i] : 0; }
  void SetDimNum(size_t n) { dims.resize(n); }
  void SetDim(size_t i, int64_t v) {
    if (i < dims.size()) dims[i] = v;
  }
  int64_t GetShapeSize() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
  bool operator==(const Shape &o) const { return dims == o.dims; }
  std::vector<int64_t> dims;
};

struct StorageShape {
  const Shape &GetStorageShape() const { return shape; }
  const Shape &GetOriginShape() const { return shape; }
  Shape shape;
};

// A value-depend input on the host: its values as int32 (the only type the ops use).
class Tensor {
 public:
  template <typename T>
  const T *GetData() const {
    static_assert(sizeof(T) == sizeof(int32_t), "the model holds int32 values");
    return reinterpret_cast<const T *>(values.data());
  }
  int64_t GetShapeSize() const { return int64_t(values.size()); }
  std::vector<int32_t> values;
};

class RuntimeAttrs {
 public:
  template <typename T>
  const T *GetAttrPointer(size_t i) const {
    return i < ints.size() ? reinterpret_cast<const T *>(&ints[i]) : nullptr;
  }
  size_t GetAttrNum() const { return ints.size(); }
  std::vector<int64_t> ints;
};

class CompileTimeTensorDesc {
 public:
  ge::DataType GetDataType() const { return dtype; }
  ge::DataType dtype = ge::DT_FLOAT;
};

// What the model's contexts share: inputs (shapes, dtypes, value-depend tensors), attributes.
struct ContextInputs {
  std::vector<StorageShape> inputs;
  std::vector<CompileTimeTensorDesc> descs;  // per input index; float32 when absent
  std::vector<Tensor> values;                // per input index; empty when not value-depend
  RuntimeAttrs attrs;
};

class TilingContext {
 public:
  const StorageShape *GetInputShape(size_t i) const {
    return i < in.inputs.size() ? &in.inputs[i] : nullptr;
  }
  const Tensor *GetInputTensor(size_t i) const {
    return i < in.values.size() && !in.values[i].values.empty() ? &in.values[i] : nullptr;
  }
  const CompileTimeTensorDesc *GetInputDesc(size_t i) const {
    static const CompileTimeTensorDesc float32;
    return i < in.descs.size() ? &in.descs[i] : &float32;
  }
  const RuntimeAttrs *GetAttrs() const { return &in.attrs; }
  fe::PlatFormInfos *GetPlatformInfo() { return &platform; }
  void SetBlockDim(uint32_t n) { blockDim = n; }
  template <typename T>
  T *GetTilingData() {
    tiling.assign(sizeof(T), 0xFF);
    return reinterpret_cast<T *>(tiling.data());
  }
  size_t *GetWorkspaceSizes(size_t n) {
    workspaces.assign(n, 0);
    return workspaces.data();
  }
  const char *GetNodeName() const { return "model"; }

  ContextInputs in;
  fe::PlatFormInfos platform;
  uint32_t blockDim = 0;
  std::vector<uint8_t> tiling;
  std::vector<size_t> workspaces;
};

class InferShapeContext {
 public:
  const Shape *GetInputShape(size_t i) const {
    return i < in.inputs.size() ? &in.inputs[i].shape : nullptr;
  }
  const Tensor *GetInputTensor(size_t i) const {
    return i < in.values.size() && !in.values[i].values.empty() ? &in.values[i] : nullptr;
  }
  const RuntimeAttrs *GetAttrs() const { return &in.attrs; }
  Shape *GetOutputShape(size_t i) { return i < outputs.size() ? &outputs[i] : nullptr; }
  ContextInputs in;
  std::vector<Shape> outputs;
};

class InferDataTypeContext {
 public:
  ge::DataType GetInputDataType(size_t i) const {
    return i < inputs.size() ? inputs[i] : ge::DT_FLOAT;
  }
  ge::graphStatus SetOutputDataType(size_t i, ge::DataType t) {
    if (i >= outputs.size()) return ge::GRAPH_FAILED;
    outputs[i] = t;
    return ge::GRAPH_SUCCESS;
  }
  std::vector<ge::DataType> inputs, outputs;
};

}  // namespace gert

namespace ops {

enum Option { REQUIRED = 0, OPTIONAL = 1, DYNAMIC = 2 };

class OpParamDef {
 public:
  explicit OpParamDef(const char *n) : name(n) {}
  OpParamDef &ParamType(Option o) { return type = o, *this; }
  OpParamDef &DataType(std::vector<ge::DataType> t) { return dtypes = std::move(t), *this; }
  OpParamDef &Format(std::vector<ge::Format> f) { return formats = std::move(f), *this; }
  OpParamDef &UnknownShapeFormat(std::vector<ge::Format> f) {
    return formats = std::move(f), *this;
  }
  OpParamDef &ValueDepend(Option o) { return valueDepend = true, (void)o, *this; }
  std::string name;
  Option type = REQUIRED;
  std::vector<ge::DataType> dtypes;
  std::vector<ge::Format> formats;
  bool valueDepend = false;
};

class OpAttrDef {
 public:
  explicit OpAttrDef(const char *n) : name(n) {}
  OpAttrDef &AttrType(Option o) { return type = o, *this; }
  OpAttrDef &Int(int64_t v = 0) { return value = v, *this; }
  OpAttrDef &Bool(bool v = false) { return value = v, *this; }
  std::string name;
  Option type = REQUIRED;
  int64_t value = 0;
};

using TilingFunc = ge::graphStatus (*)(gert::TilingContext *);
using InferShapeFunc = std::function<ge::graphStatus(gert::InferShapeContext *)>;
using InferDataTypeFunc = std::function<ge::graphStatus(gert::InferDataTypeContext *)>;

class OpAICoreDef {
 public:
  OpAICoreDef &SetTiling(TilingFunc f) { return tiling = f, *this; }
  OpAICoreDef &AddConfig(const char *soc) { return configs.emplace_back(soc), *this; }
  TilingFunc tiling = nullptr;
  std::vector<std::string> configs;
};

class OpDef {
 public:
  explicit OpDef(const char *n) : name(n) {}
  virtual ~OpDef() = default;
  OpParamDef &Input(const char *n) { return inputs.emplace_back(n), inputs.back(); }
  OpParamDef &Output(const char *n) { return outputs.emplace_back(n), outputs.back(); }
  OpAttrDef &Attr(const char *n) { return attrs.emplace_back(n), attrs.back(); }
  OpDef &SetInferShape(InferShapeFunc f) { return inferShape = std::move(f), *this; }
  OpDef &SetInferDataType(InferDataTypeFunc f) { return inferDataType = std::move(f), *this; }
  OpAICoreDef &AICore() { return aicore; }
  std::string name;
  std::vector<OpParamDef> inputs, outputs;
  std::vector<OpAttrDef> attrs;
  InferShapeFunc inferShape;
  InferDataTypeFunc inferDataType;
  OpAICoreDef aicore;
};

// OP_ADD(Name): the model's registry of op definitions by OpType (what the CANN build turns
// into the ops-info JSON and the aclnn API).
inline std::map<std::string, std::function<std::unique_ptr<OpDef>()>> &op_registry() {
  static std::map<std::string, std::function<std::unique_ptr<OpDef>()>> r;
  return r;
}
struct OpAdder {
  OpAdder(const char *name, std::function<std::unique_ptr<OpDef>()> make) {
    op_registry()[name] = std::move(make);
  }
};

}  // namespace ops

#define OP_ADD(Name)                       \
  static ::ops::OpAdder g_op_adder_##Name( \
      #Name, [] { return std::unique_ptr<::ops::OpDef>(new Name(#Name)); })
