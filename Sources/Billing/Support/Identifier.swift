/// Random identifiers and secrets. Every id, token and key in the system comes from here so that
/// their alphabet and strength are decided once.
public enum Identifier {
    /// The characters of ids and keys: URL-safe and unambiguous in JSON, HTML and paths.
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` characters drawn uniformly from 62 with the system's cryptographic generator
    /// (5.95 bits each: 24 characters carry 142 bits).
    public static func random(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new object id: the resource's prefix, an underscore, 24 random characters (`plan_…`).
    public static func make(_ prefix: String) -> String {
        "\(prefix)_\(random(24))"
    }

    /// Whether `text` has the shape of an id made by `make(prefix)` (used to reject garbage early).
    public static func looksLike(_ text: String, prefix: String) -> Bool {
        guard text.hasPrefix(prefix + "_") else { return false }
        let rest = text.utf8.dropFirst(prefix.utf8.count + 1)
        return (16...64).contains(rest.count) && rest.allSatisfy { alphabet.contains($0) }
    }
}
