import Foundation

/// An `application/x-www-form-urlencoded` body, as browsers send forms.
struct FormData {
    private var values: [String: String] = [:]

    /// Parses `bytes`; for a repeated name the first value wins.
    init(_ bytes: [UInt8]) {
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), !name.isEmpty, values[name] == nil else { continue }
            values[name] = parts.count > 1 ? (Self.decode(parts[1]) ?? "") : ""
        }
    }

    /// The value of `name`, or an empty string.
    subscript(name: String) -> String {
        values[name] ?? ""
    }

    /// Whether the form sent `name` at all.
    func has(_ name: String) -> Bool { values[name] != nil }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
