import Foundation

/// Where and why a text is not JSON.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable {
    /// Byte offset of the problem, from 0.
    public let offset: Int
    /// Line (from 1) and column (from 1, in bytes) of the problem.
    public let line: Int, column: Int
    /// What is wrong there.
    public let problem: String

    public var description: String { "line \(line), column \(column): \(problem)" }
}

/// A strict RFC 8259 parser from UTF-8 bytes to `JSON`.
///
/// Hand-written because Foundation's decoder (swift-foundation's JSON5-capable scanner) accepts
/// what RFC 8259 does not: trailing commas, and more of the JSONTestSuite's `n_` cases. A body
/// that is not JSON must be a `400 invalid_json`, never read as something the sender did not
/// write. What the RFC leaves to the parser is decided here:
/// - Strings must be valid UTF-8, and `\u` escapes must pair their surrogates: a lone surrogate or
///   an invalid byte cannot be held by a Swift `String` without replacing it, which would store
///   other text than was sent, so the body is refused.
/// - Numbers are kept exact as `Decimal` (digits past its 38th round); one whose magnitude
///   `Decimal` cannot reach (exponents past about ±128) is still JSON, and becomes
///   `.outOfRangeNumber`, which no field accepts.
/// - Nesting is limited to `maximumDepth` arrays and objects, so no body can exhaust the stack.
/// - A byte-order mark is refused (RFC 8259 §8.1: senders must not add one).
/// - Duplicate keys are kept in order; `Body` uses the first.
struct JSONParser {
    /// Deepest nesting of arrays and objects accepted.
    static let maximumDepth = 512

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    /// Parses the whole of `bytes` as one JSON text.
    static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSON {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Values

    private mutating func value() throws(JSONSyntaxError) -> JSON {
        guard index < bytes.count else { throw error("a value was expected, the text ended") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("a value was expected")
        }
    }

    private mutating func object() throws(JSONSyntaxError) -> JSON {
        try enter()
        index += 1
        var pairs: [(String, JSON)] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            depth -= 1
            return .object(pairs)
        }
        while true {
            guard peek(UInt8(ascii: "\"")) else { throw error("a member name in double quotes was expected") }
            let key = try string()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("':' was expected after the member name") }
            index += 1
            skipWhitespace()
            pairs.append((key, try value()))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                skipWhitespace()
                continue
            }
            guard peek(UInt8(ascii: "}")) else { throw error("',' or '}' was expected") }
            index += 1
            depth -= 1
            return .object(pairs)
        }
    }

    private mutating func array() throws(JSONSyntaxError) -> JSON {
        try enter()
        index += 1
        var values: [JSON] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            depth -= 1
            return .array(values)
        }
        while true {
            values.append(try value())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                skipWhitespace()
                continue
            }
            guard peek(UInt8(ascii: "]")) else { throw error("',' or ']' was expected") }
            index += 1
            depth -= 1
            return .array(values)
        }
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func literal(_ word: String) throws(JSONSyntaxError) {
        let count = word.utf8.count
        guard bytes.count - index >= count, bytes[index..<(index + count)].elementsEqual(word.utf8) else {
            throw error("a value was expected")
        }
        index += count
    }

    // MARK: Strings

    /// A string from its opening quote: escapes decoded, the UTF-8 validated.
    private mutating func string() throws(JSONSyntaxError) -> String {
        index += 1
        var text: [UInt8] = []
        var runStart = index
        while true {
            guard index < bytes.count else { throw error("the string is not closed") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                text.append(contentsOf: bytes[runStart..<index])
                index += 1
                guard let decoded = String(validating: text, as: UTF8.self) else {
                    throw error("the string is not valid UTF-8", at: runStart)
                }
                return decoded
            case UInt8(ascii: "\\"):
                text.append(contentsOf: bytes[runStart..<index])
                try escape(into: &text)
                runStart = index
            case 0..<0x20:
                throw error("a control character must be escaped in a string")
            default:
                index += 1
            }
        }
    }

    /// One escape sequence, from its backslash, appended as UTF-8.
    private mutating func escape(into text: inout [UInt8]) throws(JSONSyntaxError) {
        index += 1
        guard index < bytes.count else { throw error("the string is not closed") }
        let letter = bytes[index]
        index += 1
        switch letter {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(letter)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hexQuad()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low one; together they are one scalar.
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("a lone surrogate (\\u\(String(scalar, radix: 16))) is not a character")
                }
                index += 2
                let low = try hexQuad()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("a surrogate pair is broken") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw error("a lone surrogate (\\u\(String(scalar, radix: 16))) is not a character")
            }
            text.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            throw error("'\\\(Character(Unicode.Scalar(letter)))' is not an escape", at: index - 2)
        }
    }

    private mutating func hexQuad() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("\\u needs four hexadecimal digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let digit: UInt32
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(bytes[index] - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(bytes[index] - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(bytes[index] - UInt8(ascii: "A") + 10)
            default: throw error("\\u needs four hexadecimal digits")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    // MARK: Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, nothing else (no `+`, `.5`, `1.`,
    /// leading zeros, hex, `NaN` or `Infinity`).
    private mutating func number() throws(JSONSyntaxError) -> JSON {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("a digit was expected") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("a number cannot start with 0") }
        } else {
            skipDigits()
        }
        if peek(UInt8(ascii: ".")) {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a digit was expected after '.'") }
            skipDigits()
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a digit was expected in the exponent") }
            skipDigits()
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        // Zero with any exponent (0e-400) is zero; Decimal would refuse the exponent.
        if text.prefix(while: { $0 != "e" && $0 != "E" }).allSatisfy({ $0 == "0" || $0 == "-" || $0 == "." }) {
            return .number(0)
        }
        if let decimal = Decimal(string: text, locale: Self.posix), !decimal.isNaN, Self.isExact(decimal, text) {
            return .number(decimal)
        }
        return .outOfRangeNumber(Double(text) ?? (text.hasPrefix("-") ? -.infinity : .infinity))
    }

    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Whether `decimal` is what `text` says, within Decimal's 38 digits: an exponent Decimal
    /// cannot reach makes it return a wrong value (or zero) rather than fail.
    private static func isExact(_ decimal: Decimal, _ text: String) -> Bool {
        // `text` is not zero (see the caller), so a Double of 0 is an underflow: 1e-400.
        guard let double = Double(text), double.isFinite, double != 0 else { return false }
        let back = NSDecimalNumber(decimal: decimal).doubleValue
        return abs(back - double) <= abs(double) * 1e-12
    }

    private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    // MARK: Helpers

    private func peek(_ byte: UInt8) -> Bool { index < bytes.count && bytes[index] == byte }

    /// RFC 8259 white space: space, tab, line feed, carriage return; nothing else.
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func error(_ problem: String, at offset: Int? = nil) -> JSONSyntaxError {
        let at = min(offset ?? index, bytes.count)
        let before = bytes[..<at]
        let line = before.count(where: { $0 == 0x0A }) + 1
        let column = at - (before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
        return JSONSyntaxError(offset: at, line: line, column: column, problem: problem)
    }
}
