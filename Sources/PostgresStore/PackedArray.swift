import NIOCore
import PostgresNIO

/// An array parameter (`text[]`, `bigint[]`) in PostgreSQL's binary array format, its bytes
/// laid out once with the standard library and written to the message in one go: the columns
/// of a transaction's events, sent to `unnest`. (PostgresNIO's `[String]` encodes element by
/// element through generic `ByteBuffer` calls, the poll writes' main cost, and cannot say NULL.)
struct PackedArray: PostgresDynamicTypeEncodable {
    let psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }
    private var bytes: [UInt8]

    /// A `text[]`; `nil` elements are NULL.
    static func text(_ elements: [String?]) -> PackedArray {
        var array = PackedArray(
            arrayType: .textArray, elementType: .text, count: elements.count, hasNulls: elements.contains(nil),
            capacity: elements.reduce(0) { $0 + 4 + ($1?.utf8.count ?? 0) })
        for element in elements {
            if let element {
                array.append(Int32(element.utf8.count))
                array.bytes.append(contentsOf: element.utf8)
            } else {
                array.append(Int32(-1))
            }
        }
        return array
    }

    static func text(_ elements: [String]) -> PackedArray {
        var array = PackedArray(
            arrayType: .textArray, elementType: .text, count: elements.count, hasNulls: false,
            capacity: elements.reduce(0) { $0 + 4 + $1.utf8.count })
        for element in elements {
            array.append(Int32(element.utf8.count))
            array.bytes.append(contentsOf: element.utf8)
        }
        return array
    }

    /// A `bigint[]`.
    static func bigint(_ elements: [Int64]) -> PackedArray {
        var array = PackedArray(
            arrayType: .int8Array, elementType: .int8, count: elements.count, hasNulls: false,
            capacity: elements.count * 12)
        for element in elements {
            array.append(Int32(8))
            array.append(element)
        }
        return array
    }

    /// The header: dimensions (0 for an empty array), has-nulls flag, element type, then for one
    /// dimension its length and lower bound (1).
    private init(arrayType: PostgresDataType, elementType: PostgresDataType, count: Int, hasNulls: Bool, capacity: Int)
    {
        psqlType = arrayType
        bytes = []
        bytes.reserveCapacity(20 + capacity)
        append(Int32(count == 0 ? 0 : 1))
        append(Int32(hasNulls ? 1 : 0))
        append(Int32(bitPattern: elementType.rawValue))
        if count > 0 {
            append(Int32(count))
            append(Int32(1))
        }
    }

    private mutating func append(_ value: Int32) {
        let value = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: value >> 24))
        bytes.append(UInt8(truncatingIfNeeded: value >> 16))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    private mutating func append(_ value: Int64) {
        append(Int32(truncatingIfNeeded: value >> 32))
        append(Int32(truncatingIfNeeded: value))
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeBytes(bytes)
    }
}
