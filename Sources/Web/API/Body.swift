import Billing
import Foundation

/// A JSON request body that is an object, with typed accessors that fail with a 400 naming the
/// field. Unknown fields are ignored, as the API conventions say.
struct Body {
    let fields: [String: JSON]
    /// Where this object sits in the request, for error params (`line_items[0][price_data]`).
    let prefix: String

    /// Parses the request body. No body at all is an empty object; a body of only spaces or line
    /// breaks is not JSON, and is refused like any other.
    init(_ bytes: [UInt8]) throws(APIError) {
        if bytes.isEmpty {
            fields = [:]
            prefix = ""
            return
        }
        guard let json = JSON.parse(bytes) else {
            throw APIError(status: 400, code: "invalid_json", message: "The request body is not valid JSON.")
        }
        guard case .object(let pairs) = json else {
            throw APIError(status: 400, code: "invalid_json", message: "The request body must be a JSON object.")
        }
        fields = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        prefix = ""
    }

    init(fields: [String: JSON], prefix: String = "") {
        self.fields = fields
        self.prefix = prefix
    }

    /// The request-wide name of field `key` (`title`, `after_completion[type]`).
    func name(_ key: String) -> String {
        prefix.isEmpty ? key : "\(prefix)[\(key)]"
    }

    /// Whether `key` is present (null counts as present).
    func has(_ key: String) -> Bool { fields[key] != nil }

    /// A string; nil when absent or null. `maxLength` in characters (code points).
    func string(_ key: String, maxLength: Int? = nil) throws(APIError) -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw APIError.invalid(name(key), "\(name(key)) must be a string.") }
        try Self.refuseNUL(text, name(key))
        if let maxLength, text.codePointCount > maxLength {
            throw APIError.invalid(name(key), "\(name(key)) can be at most \(maxLength) characters.")
        }
        return text
    }

    /// Strings are stored in SQLite as C strings, which end at the first NUL: "x\u0000y" would be
    /// answered as "x\u0000y" and read back as "x". No field has a use for U+0000, so it is refused.
    static func refuseNUL(_ text: String, _ param: String) throws(APIError) {
        if text.utf8.contains(0) {
            throw APIError.invalid(param, "\(param) must not contain the NUL character (U+0000).")
        }
    }

    /// A string that must be present and non-empty.
    func requiredString(_ key: String, maxLength: Int? = nil) throws(APIError) -> String {
        guard let text = try string(key, maxLength: maxLength) else { throw APIError.missing(name(key)) }
        guard !text.isEmpty else { throw APIError.invalid(name(key), "\(name(key)) must not be empty.") }
        return text
    }

    /// An integer; nil when absent or null. Numbers with a fraction are rejected.
    func integer(_ key: String) throws(APIError) -> Int64? {
        guard let value = fields[key], value != .null else { return nil }
        let outOfRange = APIError.invalid(name(key), "\(name(key)) must be an integer (no fraction) within 64 bits.")
        if case .outOfRangeNumber = value { throw outOfRange }
        guard case .number(let number) = value else { throw APIError.invalid(name(key), "\(name(key)) must be an integer.") }
        guard let integer = Self.exactInteger(number) else { throw outOfRange }
        return integer
    }

    /// An integer that must be present.
    func requiredInteger(_ key: String) throws(APIError) -> Int64 {
        guard let value = try integer(key) else { throw APIError.missing(name(key)) }
        return value
    }

    /// A decimal number, exact as written.
    func decimal(_ key: String) throws(APIError) -> Decimal? {
        guard let value = fields[key], value != .null else { return nil }
        if case .outOfRangeNumber = value { throw APIError.invalid(name(key), "\(name(key)) is out of range.") }
        guard case .number(let number) = value else { throw APIError.invalid(name(key), "\(name(key)) must be a number.") }
        return number
    }

    /// An ISO 8601 date-time string; nil when absent or null.
    func date(_ key: String) throws(APIError) -> Date? {
        guard let text = try string(key) else { return nil }
        guard let date = Date.parseISO8601(text) else {
            throw APIError.invalid(name(key), "\(name(key)) must be an ISO 8601 date-time, like 2026-12-31T23:59:59Z.")
        }
        return date
    }

    /// A boolean; nil when absent or null.
    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw APIError.invalid(name(key), "\(name(key)) must be true or false.") }
        return flag
    }

    /// A nested object; nil when absent or null.
    func object(_ key: String) throws(APIError) -> Body? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .object(let pairs) = value else { throw APIError.invalid(name(key), "\(name(key)) must be an object.") }
        return Body(fields: Dictionary(pairs, uniquingKeysWith: { first, _ in first }), prefix: name(key))
    }

    /// Metadata: an object whose values are strings, numbers or booleans (kept as their text), within
    /// the limits of `Metadata`. Absent or null is empty.
    func metadata(_ key: String = "metadata") throws(APIError) -> Metadata {
        guard let value = fields[key], value != .null else { return .empty }
        guard case .object(let pairs) = value else { throw APIError.invalid(name(key), "\(name(key)) must be an object of strings.") }
        var values: [String: String] = [:]
        for (name, item) in pairs {
            try Self.refuseNUL(name, "\(self.name(key))[\(name)]")
            switch item {
            case .string(let text):
                try Self.refuseNUL(text, "\(self.name(key))[\(name)]")
                values[name] = text
            case .number(let number): values[name] = number.description
            case .outOfRangeNumber(let number): values[name] = number.description
            case .bool(let flag): values[name] = flag ? "true" : "false"
            default: throw APIError.invalid("\(self.name(key))[\(name)]", "Metadata values must be strings.")
            }
        }
        do {
            return try Metadata(values, param: name(key))
        } catch {
            throw APIError(error)
        }
    }

    /// An array of objects; nil when absent or null.
    func objects(_ key: String) throws(APIError) -> [Body]? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .array(let items) = value else { throw APIError.invalid(name(key), "\(name(key)) must be an array.") }
        var result: [Body] = []
        for (index, item) in items.enumerated() {
            guard case .object(let pairs) = item else {
                throw APIError.invalid("\(name(key))[\(index)]", "\(name(key))[\(index)] must be an object.")
            }
            result.append(Body(fields: Dictionary(pairs, uniquingKeysWith: { first, _ in first }), prefix: "\(name(key))[\(index)]"))
        }
        return result
    }

    /// An array of strings; nil when absent or null.
    func strings(_ key: String) throws(APIError) -> [String]? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .array(let items) = value else { throw APIError.invalid(name(key), "\(name(key)) must be an array of strings.") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw APIError.invalid("\(name(key))[\(index)]", "\(name(key))[\(index)] must be a string.")
            }
            try Self.refuseNUL(text, "\(name(key))[\(index)]")
            result.append(text)
        }
        return result
    }

    static func exactInteger(_ number: Decimal) -> Int64? {
        guard number.magnitude <= Decimal(Int64.max) else { return nil }
        var value = number
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded == number else { return nil }
        let integer = NSDecimalNumber(decimal: rounded).int64Value
        return Decimal(integer) == rounded ? integer : nil
    }
}
