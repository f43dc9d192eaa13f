import Foundation

/// A JSON value. Input is parsed by `JSONParser` (strict RFC 8259) with numbers kept as exact
/// `Decimal`s (so `29.99` stays 29.99, never a binary fraction); output is written by
/// `serialized()` with object keys in the order given, so responses read like the references.
public indirect enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Decimal)
    /// An integer this server wrote (an amount, a count, a time): printed as it is, without the
    /// cost of `Decimal`'s description (a tenth of an event's rendering, inside the write lock).
    /// Equal to the `number` of the same value.
    case integer(Int64)
    /// A number of a request body beyond what `Decimal` holds (magnitudes past about 10^165, or
    /// fractions under 10^-128): valid JSON all the same, so it must not make the body "invalid
    /// JSON". Kept as the nearest `Double`; no amount, count or date accepts it.
    case outOfRangeNumber(Double)
    case string(String)
    case array([JSON])
    /// Keys in the order they were written (duplicates of a request body kept, in order).
    case object([(String, JSON)])
    /// A value already serialized (a stored event), written as it is: re-parsing it would lose
    /// its key order and cost a parse per item of a list.
    case serialized([UInt8])

    public static func == (lhs: JSON, rhs: JSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.bool(a), .bool(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.integer(a), .integer(b)): a == b
        case let (.integer(a), .number(b)), let (.number(b), .integer(a)): Decimal(a) == b
        case let (.outOfRangeNumber(a), .outOfRangeNumber(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.array(a), .array(b)): a == b
        case let (.serialized(a), .serialized(b)): a == b
        case let (.object(a), .object(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    /// An integer number.
    public static func int<I: BinaryInteger>(_ value: I) -> JSON { .integer(Int64(value)) }

    /// A string, or null when nil.
    public static func string(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

    /// An integer, or null when nil.
    public static func int<I: BinaryInteger>(_ value: I?) -> JSON { value.map { JSON.int($0) } ?? .null }

    /// An object of strings, keys sorted.
    public static func strings(_ values: [String: String]) -> JSON {
        .object(values.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    /// Parses `bytes` as RFC 8259 JSON (see `JSONParser`); nil when they are not.
    public static func parse(_ bytes: [UInt8]) -> JSON? {
        try? JSONParser.parse(bytes)
    }

    /// The value of `key` when this is an object.
    public subscript(key: String) -> JSON? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// Compact UTF-8 text.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out)
        return out
    }

    private func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .number(let value): out.append(contentsOf: value.description.utf8)
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .outOfRangeNumber(let value): out.append(contentsOf: value.description.utf8)
        case .string(let value): Self.writeString(value, to: &out)
        case .serialized(let bytes): out.append(contentsOf: bytes)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in pairs.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copied whole, which costs a fraction of a byte-by-byte append.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "<")
                                        || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "&") }) {
            out.append(contentsOf: value.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            // `<`, `>` and `&` are escaped too, so JSON embedded in a page can never close a tag.
            case 0..<0x20, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension Date {
    /// ISO 8601 in UTC with whole seconds (`2025-01-15T12:00:00Z`), the references' date-time form.
    var iso8601: String {
        Date.ISO8601FormatStyle(timeZone: .gmt).format(self)
    }

    /// Parses an ISO 8601 / RFC 3339 date-time, with or without fractional seconds.
    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text)
    }
}
