#pragma once
// Reading and writing safetensors files, the format of safetensors.torch.save_file:
//
//   N (8 bytes, little-endian u64) | N bytes of JSON header | data buffer
//   {"__metadata__": {"format": "pt"},
//    "conv1.weight": {"dtype": "F32", "shape": [6, 10, 2, 2], "data_offsets": [0, 960]}, ...}
//
// Offsets are relative to the data buffer, which the tensors cover exactly, without gaps or
// overlaps; data is little-endian and row-major. The reader validates all of this when the file
// is opened and reads tensor data from the file on demand (no copy of the whole file is kept).
// Readable dtypes: F32, F64, I32, I64, U8, BOOL (dtype.hpp converts between them).
//
//   const auto file = SafetensorsFile::open("model.safetensors");
//   file.read("fc_final.bias", bias, {1});
//   save_safetensors<float>("out.safetensors", {{"w", DType::F32, {2, 3}, w}}, {{"epoch", "7"}});

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../core/errors.hpp"
#include "../core/tensor.hpp"
#include "atomic_file.hpp"
#include "dtype.hpp"
#include "file_handle.hpp"

namespace cnnlstm {

namespace detail {

inline constexpr std::uint64_t safetensors_max_header = 100'000'000;  // the reference reader's cap

inline std::string quoted_tensor(const std::string& name) { return "tensor '" + name + "'"; }

// "[0, 960]" (built by appending: GCC 12 -O3 warns falsely on "[" + std::to_string(...)).
inline std::string interval_string(char open, std::uint64_t begin, std::uint64_t end, char close) {
  std::string s(1, open);
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  s += close;
  return s;
}

// data_offsets as written in the header: "[0, 960]".
inline std::string offsets_string(std::uint64_t begin, std::uint64_t end) {
  return interval_string('[', begin, end, ']');
}

// A range of bytes, end excluded: "bytes [8, 12)".
inline std::string bytes_string(std::uint64_t begin, std::uint64_t end) {
  std::string s = "bytes ";
  s += interval_string('[', begin, end, ')');
  return s;
}

inline Index element_count_of(const std::vector<Index>& shape) {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

inline std::uint64_t read_u64_le(const unsigned char* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | bytes[i];
  return value;
}

}  // namespace detail

class SafetensorsFile {
 public:
  struct TensorInfo {
    DType dtype = DType::F32;
    std::vector<Index> shape;
    std::uint64_t begin = 0;  // byte span [begin, end) in the data buffer
    std::uint64_t end = 0;

    Index element_count() const { return detail::element_count_of(shape); }
  };

  // Opens and validates a file; throws IoError if it cannot be read and FormatError (naming the
  // file and, where there is one, the tensor) if anything in it is malformed or unsupported.
  static SafetensorsFile open(const std::string& path) {
    SafetensorsFile file(FileHandle::open_for_reading(path));
    file.load_header();
    return file;
  }

  const std::string& path() const { return file_.path(); }
  // Tensor names in the order of the header.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const TensorInfo& info(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("has no " + detail::quoted_tensor(name));
    return it->second;
  }

  // Reads a tensor into `destination` (expected_shape's element count of T), converting its
  // dtype to T. ShapeError if the tensor's shape is not expected_shape.
  template <class T>
  void read(const std::string& name, T* destination,
            const std::vector<Index>& expected_shape) const {
    const TensorInfo& tensor = info(name);
    if (tensor.shape != expected_shape)
      throw ShapeError(path() + ": " + detail::quoted_tensor(name) + " has shape " +
                       shape_string(tensor.shape) + ", expected " + shape_string(expected_shape));
    if (!kinds_convert(tensor.dtype, dtype_of<T>()))
      fail(detail::quoted_tensor(name) + " holds " + dtype_name(tensor.dtype) +
           " data, which cannot be read as " + dtype_name(dtype_of<T>()) +
           " without dropping fractions");
    if (copies_verbatim(tensor.dtype, dtype_of<T>())) {
      file_.read_at(destination, tensor.end - tensor.begin, data_start_ + tensor.begin);
      return;
    }
    read_converted(name, tensor, destination);
  }

 private:
  explicit SafetensorsFile(FileHandle file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& problem) const {
    throw FormatError(path() + ": " + problem);
  }

  template <class T>
  void read_converted(const std::string& name, const TensorInfo& tensor, T* destination) const {
    const std::uint64_t element_size = dtype_size(tensor.dtype);
    const auto read = [&](unsigned char* buffer, std::uint64_t first, std::uint64_t n) {
      file_.read_at(buffer, n * element_size, data_start_ + tensor.begin + first * element_size);
    };
    const auto count = static_cast<std::uint64_t>(tensor.element_count());
    if (!convert_in_chunks(tensor.dtype, dtype_of<T>(), destination, count, read))
      throw DataError(path() + ": " + detail::quoted_tensor(name) + " holds a value that " +
                      dtype_name(dtype_of<T>()) + " cannot represent");
  }

  void load_header() {
    const std::uint64_t file_size = file_.size();
    if (file_size < 8)
      fail("file is " + std::to_string(file_size) +
           " bytes long, too short for the 8-byte header length");
    unsigned char length_bytes[8];
    file_.read_at(length_bytes, 8, 0);
    const std::uint64_t length = detail::read_u64_le(length_bytes);
    if (length > detail::safetensors_max_header)
      fail("header length " + std::to_string(length) + " is above the 100 MB limit");
    if (length > file_size - 8)
      fail("header length " + std::to_string(length) + " reaches beyond the end of the file (" +
           std::to_string(file_size) + " bytes)");
    std::string text(length, '\0');
    file_.read_at(text.data(), length, 8);
    data_start_ = 8 + length;
    parse_header(text, file_size - data_start_);
  }

  nlohmann::ordered_json parse_json(const std::string& text) const {
    std::set<std::string> keys;
    std::string duplicate;
    const auto note_duplicates = [&](int depth, nlohmann::ordered_json::parse_event_t event,
                                     nlohmann::ordered_json& parsed) {
      if (depth == 1 && event == nlohmann::ordered_json::parse_event_t::key &&
          !keys.insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
      return true;
    };
    try {
      auto header = nlohmann::ordered_json::parse(text, note_duplicates);
      if (!duplicate.empty()) fail("header has the key '" + duplicate + "' twice");
      return header;
    } catch (const nlohmann::json::exception& e) {  // syntax, or a number out of range (1e999)
      fail(std::string("header is not valid JSON (") + e.what() + ")");
    }
  }

  void parse_header(const std::string& text, std::uint64_t buffer_size) {
    const auto header = parse_json(text);
    if (!header.is_object()) fail("header is not a JSON object");
    for (const auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        parse_metadata(value);
      } else {
        tensors_[key] = parse_tensor(key, value, buffer_size);
        names_.push_back(key);
      }
    }
    check_coverage(buffer_size);
  }

  void parse_metadata(const nlohmann::ordered_json& value) {
    if (!value.is_object()) fail("__metadata__ is not a JSON object");
    for (const auto& [key, entry] : value.items()) {
      if (!entry.is_string())
        fail("__metadata__ must map strings to strings, but '" + key + "' holds " + entry.dump());
      metadata_[key] = entry.get<std::string>();
    }
  }

  TensorInfo parse_tensor(const std::string& name, const nlohmann::ordered_json& entry,
                          std::uint64_t buffer_size) const {
    const std::string where = detail::quoted_tensor(name);
    if (!entry.is_object()) fail(where + " is not a JSON object");
    for (const auto& [key, value] : entry.items())
      if (key != "dtype" && key != "shape" && key != "data_offsets")
        fail(where + " has an unexpected key '" + key + "'");
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(key)) fail(where + " lacks '" + key + "'");

    TensorInfo tensor;
    tensor.dtype = parse_dtype(where, entry["dtype"]);
    tensor.shape = parse_shape(where, entry["shape"]);
    const auto offsets = parse_integers(where, "data_offsets", entry["data_offsets"]);
    if (offsets.size() != 2) fail(where + ": data_offsets must be [begin, end]");
    tensor.begin = offsets[0];
    tensor.end = offsets[1];
    check_span(where, tensor, buffer_size);
    return tensor;
  }

  DType parse_dtype(const std::string& where, const nlohmann::ordered_json& value) const {
    if (!value.is_string()) fail(where + ": dtype is not a string");
    const auto name = value.get<std::string>();
    for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool})
      if (name == dtype_name(d)) return d;
    fail(where + " has unsupported dtype '" + name +
         "' (supported: F32, F64, I32, I64, U8, BOOL)");
  }

  std::vector<std::uint64_t> parse_integers(const std::string& where, const std::string& field,
                                            const nlohmann::ordered_json& value) const {
    if (!value.is_array()) fail(where + ": " + field + " is not an array");
    std::vector<std::uint64_t> numbers;
    for (const auto& n : value) {
      if (n.is_number_integer() && !n.is_number_unsigned())
        fail(where + ": " + field + " " + value.dump() + " holds a negative number");
      if (!n.is_number_unsigned())
        fail(where + ": " + field + " " + value.dump() + " holds something other than integers");
      numbers.push_back(n.get<std::uint64_t>());
    }
    return numbers;
  }

  std::vector<Index> parse_shape(const std::string& where,
                                 const nlohmann::ordered_json& value) const {
    std::vector<Index> shape;
    auto remaining = static_cast<std::uint64_t>(std::numeric_limits<Index>::max());
    for (std::uint64_t d : parse_integers(where, "shape", value)) {
      if (d != 0 && d > remaining) fail(where + ": shape " + value.dump() + " is absurdly large");
      if (d != 0) remaining /= d;
      shape.push_back(static_cast<Index>(d));
    }
    return shape;
  }

  void check_span(const std::string& where, const TensorInfo& tensor,
                  std::uint64_t buffer_size) const {
    const std::string offsets = detail::offsets_string(tensor.begin, tensor.end);
    if (tensor.begin > tensor.end)
      fail(where + ": data_offsets " + offsets + " begin after they end");
    if (tensor.end > buffer_size)
      fail(where + ": data_offsets " + offsets + " reach beyond the " +
           std::to_string(buffer_size) + "-byte data buffer");
    const std::uint64_t span = tensor.end - tensor.begin;
    const auto needed =
        static_cast<std::uint64_t>(tensor.element_count()) * dtype_size(tensor.dtype);
    if (span != needed)
      fail(where + ": data_offsets " + offsets + " span " + std::to_string(span) + " bytes, but " +
           dtype_name(tensor.dtype) + " of shape " + shape_string(tensor.shape) + " needs " +
           std::to_string(needed));
  }

  // The tensors, sorted by offset, must tile the data buffer: no gaps, no overlaps.
  void check_coverage(std::uint64_t buffer_size) const {
    std::vector<const std::string*> order;
    for (const auto& name : names_) order.push_back(&name);
    std::sort(order.begin(), order.end(), [&](const std::string* a, const std::string* b) {
      const TensorInfo &x = tensors_.at(*a), &y = tensors_.at(*b);
      return std::pair(x.begin, x.end) < std::pair(y.begin, y.end);
    });
    std::uint64_t covered = 0;
    const std::string* previous = nullptr;
    for (const std::string* name : order) {
      const TensorInfo& tensor = tensors_.at(*name);
      if (tensor.begin > covered)
        fail(detail::bytes_string(covered, tensor.begin) +
             " of the data buffer belong to no tensor (a gap before " +
             detail::quoted_tensor(*name) + ")");
      if (tensor.begin < covered)
        fail(detail::quoted_tensor(*name) + " at " +
             detail::offsets_string(tensor.begin, tensor.end) + " overlaps " +
             detail::quoted_tensor(*previous) + " at " +
             detail::offsets_string(tensors_.at(*previous).begin, covered));
      covered = tensor.end;
      previous = name;
    }
    if (covered != buffer_size)
      fail(detail::bytes_string(covered, buffer_size) +
           " at the end of the data buffer belong to no tensor");
  }

  FileHandle file_;
  std::uint64_t data_start_ = 0;
  std::vector<std::string> names_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to save: its data (row-major, shape's element count of T) and the dtype to store.
template <class T>
struct SafetensorsEntry {
  std::string name;
  DType dtype = dtype_of<T>();
  std::vector<Index> shape;
  const T* data = nullptr;
};

namespace detail {

template <class T>
void check_safetensors_entry(const SafetensorsEntry<T>& entry, const std::string& path) {
  const std::string where = path + ": cannot save " + quoted_tensor(entry.name);
  if (entry.name.empty() || entry.name == "__metadata__")
    throw ConfigError(path + ": '" + entry.name + "' is not a valid tensor name");
  if (!kinds_convert(dtype_of<T>(), entry.dtype))
    throw ConfigError(where + " as " + dtype_name(entry.dtype) +
                      ": it would drop the fractions of " + dtype_name(dtype_of<T>()) + " values");
  if (std::any_of(entry.shape.begin(), entry.shape.end(), [](Index d) { return d < 0; }))
    throw ShapeError(where + " with shape " + shape_string(entry.shape));
}

template <class T>
std::string safetensors_header(const std::vector<SafetensorsEntry<T>>& entries,
                               const std::map<std::string, std::string>& metadata,
                               const std::string& path) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& entry : entries) {
    check_safetensors_entry(entry, path);
    if (header.contains(entry.name))
      throw ConfigError(path + ": " + quoted_tensor(entry.name) + " is given twice");
    const auto bytes =
        static_cast<std::uint64_t>(element_count_of(entry.shape)) * dtype_size(entry.dtype);
    header[entry.name] = {{"dtype", dtype_name(entry.dtype)},
                          {"shape", entry.shape},
                          {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

template <class T>
void write_safetensors_data(AtomicFile& file, const SafetensorsEntry<T>& entry) {
  const auto count = static_cast<std::uint64_t>(element_count_of(entry.shape));
  if (copies_verbatim(dtype_of<T>(), entry.dtype)) {
    file.write(entry.data, count * sizeof(T));
    return;
  }
  constexpr std::uint64_t chunk_elements = 8192;
  std::vector<unsigned char> chunk(chunk_elements * dtype_size(entry.dtype));
  for (std::uint64_t done = 0; done < count; done += chunk_elements) {
    const std::uint64_t n = std::min(chunk_elements, count - done);
    if (!convert_elements(dtype_of<T>(), entry.data + done, entry.dtype, chunk.data(), n))
      throw DataError(file.destination() + ": " + quoted_tensor(entry.name) +
                      " holds a value that " + dtype_name(entry.dtype) + " cannot represent");
    file.write(chunk.data(), n * dtype_size(entry.dtype));
  }
}

}  // namespace detail

// Writes the tensors in the given order, with optional string metadata, through AtomicFile.
template <class T>
void save_safetensors(const std::string& path, const std::vector<SafetensorsEntry<T>>& entries,
                      const std::map<std::string, std::string>& metadata = {}) {
  const std::string header = detail::safetensors_header(entries, metadata, path);
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
  AtomicFile file(path);
  file.write(length, sizeof length);
  file.write(header.data(), header.size());
  for (const auto& entry : entries) detail::write_safetensors_data(file, entry);
  file.commit();
}

}  // namespace cnnlstm
