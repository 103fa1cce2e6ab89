// libFuzzer harness for the .npy reader: read_npy_header on the bytes in memory, then load_npy
// and load_npy_tensor on the same bytes as a file, for several element types and ranks.
// Every cnnlstm::Error is an expected rejection; anything else is a finding.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "cnnlstm/core/errors.hpp"
#include "cnnlstm/io/npy.hpp"
#include "cnnlstm/io/npy_header.hpp"
#include "fuzz_support.hpp"

namespace {

using cnnlstm::Index;

// The element count a shape promises (the reader has refused shapes whose size overflows).
std::uint64_t product(const std::vector<Index>& shape) {
  std::uint64_t n = 1;
  for (Index d : shape) {
    if (d < 0) cnnlstm_fuzz::invariant_broken("negative dimension accepted");
    n *= static_cast<std::uint64_t>(d);
  }
  return n;
}

void check_header(const std::string& bytes) {
  std::istringstream in(bytes);
  try {
    const cnnlstm::NpyHeader header = cnnlstm::read_npy_header(in, "fuzz.npy");
    if (header.data_offset > bytes.size())
      cnnlstm_fuzz::invariant_broken("data offset beyond the header bytes read");
    if (static_cast<std::uint64_t>(in.tellg()) != header.data_offset)
      cnnlstm_fuzz::invariant_broken("stream not left at the first data byte");
    (void)product(header.shape);
  } catch (const cnnlstm::Error&) {
  }
}

template <class T>
void load_array(const std::string& path, std::size_t file_size) {
  try {
    const cnnlstm::NpyArray<T> array = cnnlstm::load_npy<T>(path);
    if (array.data.size() != product(array.shape))
      cnnlstm_fuzz::invariant_broken("element count differs from the shape");
    if (array.data.size() > file_size)
      cnnlstm_fuzz::invariant_broken("more elements than bytes in the file");
  } catch (const cnnlstm::Error&) {
  }
}

template <class T, int R>
void load_tensor(const std::string& path) {
  try {
    const auto tensor = cnnlstm::load_npy_tensor<T, R>(path);
    (void)tensor;
  } catch (const cnnlstm::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  check_header(bytes);

  static const cnnlstm_fuzz::InputFile file(".npy");
  const std::string& path = file.write(data, size);
  load_array<float>(path, size);
  load_array<double>(path, size);
  load_array<std::int32_t>(path, size);
  load_array<std::int64_t>(path, size);
  load_array<std::uint8_t>(path, size);
  load_tensor<float, 1>(path);
  load_tensor<float, 2>(path);
  load_tensor<double, 4>(path);
  return 0;
}
