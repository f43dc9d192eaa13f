import GRDB

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
        while bytes.count < count {
            // One 64-bit draw yields ten base-62 digits: values below the largest multiple of 62^10
            // that fits in 64 bits are uniform modulo 62^10 (the rest, 4.5 %, are drawn again).
            let word = generator.next()
            guard word < acceptedBound else { continue }
            var digits = word % digitsPerWord
            for _ in 0..<min(10, count - bytes.count) {
                bytes.append(alphabet[Int(digits % 62)])
                digits /= 62
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 62^10: ten digits of the alphabet.
    private static let digitsPerWord: UInt64 = (0..<10).reduce(1) { product, _ in product * 62 }
    /// The largest multiple of 62^10 not above 2^64 − 1.
    private static let acceptedBound: UInt64 = (UInt64.max / digitsPerWord) * digitsPerWord

    /// A new object id: the resource's prefix, an underscore, 24 random characters (`plan_…`).
    public static func make(_ prefix: String) -> String {
        "\(prefix)_\(random(24))"
    }

    /// Whether `text` has the shape of an id made by `make(prefix)` (used to reject garbage early).
    public static func looksLike(_ text: String, prefix: String) -> Bool {
        guard text.hasPrefix(prefix + "_") else { return false }
        let rest = text.utf8.dropFirst(prefix.utf8.count + 1)
        return isRandomPart(rest, length: 16...64)
    }

    /// Whether `characters` could be the random part of an id, token or key: `length` characters,
    /// all of the alphabet. Given ids, tokens, secrets and keys are held to the generated shape.
    static func isRandomPart(_ characters: some Collection<UInt8>, length: ClosedRange<Int>) -> Bool {
        length.contains(characters.count) && characters.allSatisfy { alphabet.contains($0) }
    }
}

/// Identities a caller may choose instead of having them generated: fixture files name their
/// objects, keys and secrets so that merchants' tests can hard-code them. Each must have the shape
/// of a generated one, so pages and lookups treat it exactly alike.
public struct GivenIdentity: Sendable {
    /// The object's id (`plan_…`, `pl_…`).
    public var id: String?
    /// A checkout session's page token.
    public var token: String?
    /// A webhook endpoint's signing secret (`whsec_…`).
    public var secret: String?

    /// Nothing given: everything generated.
    public static let generated = GivenIdentity()

    /// Chosen values; nil ones are generated.
    public init(id: String? = nil, token: String? = nil, secret: String? = nil) {
        self.id = id
        self.token = token
        self.secret = secret
    }
}

extension Ledger {
    /// The id of a new row of `table`: `given` when there is one (checked for shape and for being
    /// unused), a fresh `prefix_…` otherwise.
    func newIdentifier(_ given: String?, prefix: String, table: String) throws -> String {
        guard let given else { return Identifier.make(prefix) }
        guard Identifier.looksLike(given, prefix: prefix) else {
            throw BillingError.invalid("id", "id must be '\(prefix)_' followed by 16 to 64 letters and digits, like an id this server makes.")
        }
        if try fetchValue(Bool.self, "SELECT 1 FROM \(table) WHERE id = ?", arguments: [given]) == true {
            throw BillingError(.alreadyExists, "The id '\(given)' is already used.", param: "id")
        }
        return given
    }
}
