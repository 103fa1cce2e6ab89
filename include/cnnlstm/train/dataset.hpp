#pragma once
// A soil-mapping data set on disk, as .npy arrays with one row per site:
//   x_cnn  (N, C, P, P)  static covariates, a P x P window centred on each site
//   x_lstm (N, T, F)     yearly series: F features (EVI first, then phenology) over T years
//   y      (N) or (N, K) soil property (SOC), K outputs for several properties or depths
//   index files (M)      row numbers of the training / test sites (int32 or int64)
// Loading validates everything a model would otherwise trip over, with messages that name the
// file, the row and the column: agreeing row counts, finite values, indices in range, no site in
// both training and test sets.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../io/csv.hpp"
#include "../io/npy.hpp"
#include "../core/random.hpp"
#include "../core/tensor.hpp"

namespace cnnlstm {

// What to do with a site whose covariates are not finite (NaN, inf).
enum class NodataPolicy {
  reject,     // an error naming the file, row and column
  propagate,  // the site is marked; prediction writes NaN for it
};

struct SoilDataPaths {
  std::string x_cnn, x_lstm, y;  // empty: not given; y may be .npy or a .csv sample table
  std::vector<std::string> target_columns{"soc"};  // the columns of a .csv y, one per output
};

template <class T>
struct SoilData {
  std::optional<Tensor<T, 4>> x_cnn;
  std::optional<Tensor<T, 3>> x_lstm;
  std::optional<Tensor<T, 2>> y;
  std::vector<bool> nodata;  // per row, with NodataPolicy::propagate
  Index rows = 0;
};

namespace detail {

// Position of flat element `i` of a row-major array of `shape` as "row r, column (a, b, ...)".
inline std::string element_position(const Shape<4>& shape, Index i, int rank) {
  std::vector<Index> index(static_cast<std::size_t>(rank));
  for (int d = rank - 1; d >= 0; --d) {
    index[static_cast<std::size_t>(d)] = i % shape[static_cast<std::size_t>(d)];
    i /= shape[static_cast<std::size_t>(d)];
  }
  std::string column;
  for (std::size_t d = 1; d < index.size(); ++d) column += (d > 1 ? ", " : "") + std::to_string(index[d]);
  return "row " + std::to_string(index[0]) + (rank > 1 ? ", column (" + column + ")" : "");
}

// Rejects or marks rows with a non-finite value.
template <class T>
void check_finite(const T* data, const Shape<4>& shape, int rank, const std::string& file,
                  const char* what, NodataPolicy policy, std::vector<bool>& nodata) {
  const Index rows = shape[0];
  const Index row_size = rows == 0 ? 0 : element_count(shape) / rows;
  for (Index r = 0; r < rows; ++r)
    for (Index k = 0; k < row_size; ++k) {
      const T v = data[r * row_size + k];
      if (std::isfinite(static_cast<double>(v))) continue;
      if (policy == NodataPolicy::reject)
        throw DataError(file + ": " + what + " value " + std::to_string(static_cast<double>(v)) + " at " +
                        element_position(shape, r * row_size + k, rank) +
                        (std::string(what) == "target" ? "" : " (use --nodata propagate to predict NaN for such sites)"));
      nodata[static_cast<std::size_t>(r)] = true;
      break;
    }
}

template <std::size_t Rank>
Shape<4> padded_shape(const std::array<Index, Rank>& s) {
  Shape<4> out{1, 1, 1, 1};
  std::copy(s.begin(), s.end(), out.begin());
  return out;
}

}  // namespace detail

// Site ids of a table's `id` column must be unique: an id twice is a table joined or pasted
// wrongly, whose rows then cannot be the arrays' rows.
inline void require_unique_ids(const CsvTable& table, const std::string& path) {
  if (!table.has_column("id")) return;
  const auto ids = table.text("id");
  std::map<std::string, std::size_t> first_row;
  for (std::size_t r = 0; r < ids.size(); ++r)
    if (const auto [it, fresh] = first_row.emplace(ids[r], r); !fresh)
      throw DataError(path + ": site id '" + ids[r] + "' is on line " + std::to_string(table.line_of_row(it->second)) +
                      " and on line " + std::to_string(table.line_of_row(r)) + "; each row must be one site");
}

// Target columns of a sample table (N, columns), in the table's row order: row i of the table is
// row i of the arrays. The arrays carry no site ids, so the table's `id` column cannot be matched
// against them; it is only checked to name each site once (require_unique_ids). Keep the table
// in the arrays' row order (soc simulate writes both so).
template <class T>
Tensor<T, 2> targets_from_csv(const std::string& path, const std::vector<std::string>& columns) {
  if (columns.empty()) throw ConfigError(path + ": no target columns were named");
  const CsvTable table = CsvTable::read(path);
  require_unique_ids(table, path);
  Tensor<T, 2> y(static_cast<Index>(table.rows()), static_cast<Index>(columns.size()));
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const auto values = table.numbers(columns[k]);
    for (std::size_t i = 0; i < values.size(); ++i) y(static_cast<Index>(i), static_cast<Index>(k)) = static_cast<T>(values[i]);
  }
  return y;
}

// Loads the arrays that are named; the covariates' and targets' row counts must agree.
template <class T>
SoilData<T> load_soil_data(const SoilDataPaths& paths, NodataPolicy policy = NodataPolicy::reject) {
  SoilData<T> data;
  std::vector<std::pair<std::string, Index>> row_counts;
  if (!paths.x_cnn.empty()) {
    data.x_cnn = load_npy_tensor<T, 4>(paths.x_cnn);
    if (data.x_cnn->dimension(2) != data.x_cnn->dimension(3))
      throw ShapeError(paths.x_cnn + ": patches must be square (N, C, P, P), got " +
                       shape_string(data.x_cnn->dimensions()));
    row_counts.emplace_back(paths.x_cnn, data.x_cnn->dimension(0));
  }
  if (!paths.x_lstm.empty()) {
    data.x_lstm = load_npy_tensor<T, 3>(paths.x_lstm);
    row_counts.emplace_back(paths.x_lstm, data.x_lstm->dimension(0));
  }
  if (!paths.y.empty() && paths.y.ends_with(".csv")) {
    data.y = targets_from_csv<T>(paths.y, paths.target_columns);
    row_counts.emplace_back(paths.y, data.y->dimension(0));
  } else if (!paths.y.empty()) {
    const auto y = load_npy<T>(paths.y);
    if (y.shape.size() != 1 && y.shape.size() != 2)
      throw ShapeError(paths.y + ": targets must have shape (N) or (N, outputs), got " + shape_string(y.shape));
    const Index outputs = y.shape.size() == 2 ? y.shape[1] : 1;
    data.y = Tensor<T, 2>(y.shape[0], outputs);
    std::copy(y.data.begin(), y.data.end(), data.y->data());
    row_counts.emplace_back(paths.y, y.shape[0]);
  }
  if (row_counts.empty()) throw ConfigError("no covariate arrays were given (x_cnn, x_lstm)");
  for (const auto& [file, rows] : row_counts)
    if (rows != row_counts[0].second)
      throw ShapeError("row counts disagree: " + row_counts[0].first + " has " +
                       std::to_string(row_counts[0].second) + " rows, " + file + " has " + std::to_string(rows));
  data.rows = row_counts[0].second;
  if (data.rows == 0) throw DataError(row_counts[0].first + ": the array has no rows");
  data.nodata.assign(static_cast<std::size_t>(data.rows), false);
  if (data.x_cnn)
    detail::check_finite(data.x_cnn->data(), detail::padded_shape(data.x_cnn->dimensions()), 4, paths.x_cnn,
                         "covariate", policy, data.nodata);
  if (data.x_lstm)
    detail::check_finite(data.x_lstm->data(), detail::padded_shape(data.x_lstm->dimensions()), 3, paths.x_lstm,
                         "covariate", policy, data.nodata);
  if (data.y)
    detail::check_finite(data.y->data(), detail::padded_shape(data.y->dimensions()), 2, paths.y, "target",
                         NodataPolicy::reject, data.nodata);
  return data;
}

// Row numbers from an index file: a 1-D integer array, each in [0, rows), none repeated.
inline std::vector<std::int64_t> load_index_file(const std::string& path, Index rows) {
  const auto a = load_npy<std::int64_t>(path);
  if (a.shape.size() != 1) throw ShapeError(path + ": an index file must be 1-D, got shape " + shape_string(a.shape));
  if (a.data.empty()) throw DataError(path + ": the index file is empty");
  std::set<std::int64_t> seen;
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    const std::int64_t r = a.data[i];
    if (r < 0 || r >= rows)
      throw DataError(path + ": entry " + std::to_string(i) + " is " + std::to_string(r) +
                      ", outside the data's rows 0.." + std::to_string(rows - 1));
    if (!seen.insert(r).second)
      throw DataError(path + ": row " + std::to_string(r) + " is listed twice (entry " + std::to_string(i) + ")");
  }
  return a.data;
}

// Throws if a row is in both sets.
inline void require_disjoint(const std::vector<std::int64_t>& a, const std::string& a_name,
                             const std::vector<std::int64_t>& b, const std::string& b_name) {
  const std::set<std::int64_t> in_a(a.begin(), a.end());
  for (std::int64_t r : b)
    if (in_a.count(r))
      throw DataError("row " + std::to_string(r) + " is in both " + a_name + " and " + b_name +
                      ": a site must not be trained on and tested on");
}

// Splits training rows into (fit, validation): a seeded random `fraction` (at least one row when
// fraction > 0) is held out for model selection.
inline std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> split_validation(
    std::vector<std::int64_t> rows, double fraction, std::uint64_t seed) {
  if (fraction <= 0) return {rows, {}};
  const auto n = rows.size();
  const auto held = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))));
  if (held >= n)
    throw DataError("the validation fraction " + std::to_string(fraction) + " leaves no training rows out of " +
                    std::to_string(n));
  Rng rng(seed ^ 0x5A5A5A5A12345678ull);
  rng.shuffle(rows.begin(), rows.end());
  std::vector<std::int64_t> validation(rows.end() - static_cast<std::ptrdiff_t>(held), rows.end());
  rows.resize(n - held);
  return {rows, validation};
}

// The series columns a model reads: all F when the data has F, else the paper's layout of 12
// columns (EVI first, then the 11 phenology metrics) serves F = 1 (EVI) and F = 11 (phenology).
// first_series_feature gives the first of those columns (-1: the data cannot serve the model).
inline Index first_series_feature(Index have, Index wanted) {
  if (have == wanted) return 0;
  if (have == 12 && wanted == 1) return 0;
  if (have == 12 && wanted == 11) return 1;
  return -1;
}

template <class T>
Tensor<T, 3> select_series_features(const Tensor<T, 3>& x, Index wanted, const std::string& file) {
  const Index have = x.dimension(2);
  if (have == wanted) return x;
  const Index first = first_series_feature(have, wanted);
  if (first < 0)
    throw ShapeError(file + ": the model reads " + std::to_string(wanted) + " series features per year, the array has " +
                     std::to_string(have) + " (give " + std::to_string(wanted) +
                     ", or 12 in the paper's order, EVI first)");
  Tensor<T, 3> out(x.dimension(0), x.dimension(1), wanted);
  for (Index i = 0; i < x.dimension(0); ++i)
    for (Index t = 0; t < x.dimension(1); ++t)
      for (Index f = 0; f < wanted; ++f) out(i, t, f) = x(i, t, first + f);
  return out;
}

}  // namespace cnnlstm
