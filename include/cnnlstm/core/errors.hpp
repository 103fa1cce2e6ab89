#pragma once
// The library's exception hierarchy. Every error the library raises derives from cnnlstm::Error,
// so a program can catch one type; the subclasses tell what kind of input was wrong.
//
//   Error                      anything the library reports
//   +-- ShapeError             a tensor's shape does not fit the layer or model it is given to
//   +-- ConfigError            a configuration value or flag is missing, unknown, mistyped or out of range
//   +-- FormatError            a file (npy, safetensors, CSV, JSON) is malformed or unsupported
//   +-- DataError              well-formed data whose content is unusable (NaN, bad index, row mismatch)
//   +-- IoError                the operating system refused a read or write
//   +-- NumericalError         a computation diverged (loss NaN or infinite)
//   +-- UsageError             the API was called out of order (backward before a training forward)

#include <cstdio>
#include <stdexcept>
#include <string>

namespace cnnlstm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ShapeError : public Error {
 public:
  using Error::Error;
};

class ConfigError : public Error {
 public:
  using Error::Error;
};

class FormatError : public Error {
 public:
  using Error::Error;
};

class DataError : public Error {
 public:
  using Error::Error;
};

class IoError : public Error {
 public:
  using Error::Error;
};

class NumericalError : public Error {
 public:
  using Error::Error;
};

class UsageError : public Error {
 public:
  using Error::Error;
};

// A number as messages write it: up to 6 significant digits, no trailing zeros ("0", "-0.5").
inline std::string message_number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

}  // namespace cnnlstm
