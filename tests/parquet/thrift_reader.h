#pragma once

// A schema-less Thrift compact-protocol decoder for tests: it turns a serialised struct into a
// tree of Nodes keyed by field id, so tests can check what the Parquet writer put in page
// headers and the footer without sharing its encoder. Header-only; test code only.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace sb::telemetry::parquet::testing {

struct Node {
    // Compact type id (field-header numbering; bools are 1 whatever their value).
    int type = 0;
    bool b = false;
    std::int64_t i = 0;  // I8, I16, I32, I64 (zigzag decoded)
    double d = 0;
    std::string s;               // BINARY
    std::vector<Node> items;     // LIST / SET elements
    int element_type = 0;        // LIST / SET element type
    std::vector<int> field_ids;  // STRUCT fields, in wire order
    std::vector<Node> fields;

    bool has(int id) const {
        for (int f : field_ids) {
            if (f == id) {
                return true;
            }
        }
        return false;
    }
    // The field with `id`; a default Node (type 0) when absent.
    const Node& field(int id) const {
        static const Node kMissing;
        for (std::size_t k = 0; k < field_ids.size(); ++k) {
            if (field_ids[k] == id) {
                return fields[k];
            }
        }
        return kMissing;
    }
};

class CompactReader {
  public:
    explicit CompactReader(std::string_view data) : data_(data) {}

    bool ok() const { return ok_; }
    std::size_t position() const { return pos_; }

    Node read_struct() {
        Node node;
        node.type = 12;
        int last_id = 0;
        while (ok_) {
            const int header = byte();
            if (header == 0) {
                break;  // stop field
            }
            const int type = header & 0x0F;
            const int delta = header >> 4;
            const int id = delta != 0 ? last_id + delta : static_cast<int>(zigzag(varint()));
            last_id = id;
            Node value;
            if (type == 1 || type == 2) {
                value.type = 1;
                value.b = type == 1;
            } else {
                value = read_value(type);
            }
            node.field_ids.push_back(id);
            node.fields.push_back(std::move(value));
        }
        return node;
    }

  private:
    Node read_value(int type) {
        Node node;
        node.type = type;
        switch (type) {
            case 3:
                node.i = static_cast<std::int8_t>(byte());
                break;
            case 4:
            case 5:
            case 6:
                node.i = zigzag(varint());
                break;
            case 7: {
                std::uint64_t bits = 0;
                for (int k = 0; k < 8; ++k) {
                    bits |= static_cast<std::uint64_t>(byte()) << (8 * k);
                }
                std::memcpy(&node.d, &bits, sizeof bits);
                break;
            }
            case 8: {
                const std::uint64_t n = varint();
                if (n > data_.size() - pos_) {
                    ok_ = false;
                    break;
                }
                node.s = std::string(data_.substr(pos_, n));
                pos_ += n;
                break;
            }
            case 9:
            case 10: {
                const int header = byte();
                node.element_type = header & 0x0F;
                std::uint64_t size = static_cast<std::uint64_t>(header) >> 4;
                if (size == 15) {
                    size = varint();
                }
                for (std::uint64_t k = 0; k < size && ok_; ++k) {
                    if (node.element_type == 1 || node.element_type == 2) {
                        Node element;
                        element.type = 1;
                        element.b = byte() == 1;
                        node.items.push_back(element);
                    } else {
                        node.items.push_back(read_value(node.element_type));
                    }
                }
                break;
            }
            case 12:
                return read_struct();
            default:
                ok_ = false;  // maps and unknown types: not used by Parquet headers
        }
        return node;
    }

    int byte() {
        if (pos_ >= data_.size()) {
            ok_ = false;
            return 0;
        }
        return static_cast<unsigned char>(data_[pos_++]);
    }

    std::uint64_t varint() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64 && ok_; shift += 7) {
            const int b = byte();
            value |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        ok_ = false;
        return value;
    }

    static std::int64_t zigzag(std::uint64_t v) {
        return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
    }

    std::string_view data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace sb::telemetry::parquet::testing
