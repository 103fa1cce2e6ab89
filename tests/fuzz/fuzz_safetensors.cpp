// libFuzzer harness for the safetensors reader: SafetensorsFile::open, then every tensor read as
// float, double and int64, then load_model<float> (metadata JSON, model spec, architecture
// inference, parameter loading) on the same file. Every cnnlstm::Error is an expected rejection;
// anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cnnlstm/core/errors.hpp"
#include "cnnlstm/io/safetensors.hpp"
#include "cnnlstm/io/model_file.hpp"
#include "fuzz_support.hpp"

namespace {

// What open() promises about a tensor: its shape's bytes are exactly its span, inside the file.
void check_info(const cnnlstm::SafetensorsFile::TensorInfo& info, std::size_t file_size) {
  std::uint64_t bytes = cnnlstm::dtype_size(info.dtype);
  for (cnnlstm::Index d : info.shape) {
    if (d < 0) cnnlstm_fuzz::invariant_broken("negative dimension accepted");
    if (d != 0 && bytes > file_size / static_cast<std::uint64_t>(d))
      cnnlstm_fuzz::invariant_broken("a tensor's shape needs more bytes than the file holds");
    bytes *= static_cast<std::uint64_t>(d);
  }
  if (info.end < info.begin || info.end - info.begin != bytes)
    cnnlstm_fuzz::invariant_broken("a tensor's span differs from its shape's size");
}

template <class T>
void read_tensor(const cnnlstm::SafetensorsFile& file, const std::string& name) {
  const auto& info = file.info(name);
  std::vector<T> values(static_cast<std::size_t>(info.element_count()));
  try {
    file.read(name, values.data(), info.shape);
  } catch (const cnnlstm::Error&) {
  }
}

void read_file(const std::string& path, std::size_t file_size) {
  try {
    const auto file = cnnlstm::SafetensorsFile::open(path);
    for (const std::string& name : file.names()) {
      check_info(file.info(name), file_size);
      read_tensor<float>(file, name);
      read_tensor<double>(file, name);
      read_tensor<std::int64_t>(file, name);
    }
  } catch (const cnnlstm::Error&) {
  }
}

void load_model(const std::string& path) {
  try {
    const auto loaded = cnnlstm::load_model<float>(path);
    (void)loaded;
  } catch (const cnnlstm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const cnnlstm_fuzz::InputFile file(".safetensors");
  const std::string& path = file.write(data, size);
  read_file(path, size);
  load_model(path);
  return 0;
}
