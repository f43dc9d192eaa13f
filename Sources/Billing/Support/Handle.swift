/// Readable names that appear in URLs: organization handles and payment-link slugs.
/// Lowercase ASCII letters, digits and single hyphens between them; 1–64 characters.
public enum Handle {
    /// Handles an organization cannot take because they are the first segment of the server's own
    /// paths (`/c/<token>`, `/static/…`, `/v1/…`).
    public static let reservedForPaths: Set<String> = ["c", "static", "v1", "healthz", "api", "admin", "test"]

    /// The longest handle or slug accepted.
    public static let maximumLength = 64

    /// Whether `text` is a valid handle: `pro`, `acme-2024`; not `-pro`, `pro-`, `a--b`, `Pro`.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...maximumLength).contains(bytes.count) else { return false }
        guard bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else { return false }
        var previousWasHyphen = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                previousWasHyphen = false
            case UInt8(ascii: "-"):
                if previousWasHyphen { return false }
                previousWasHyphen = true
            default:
                return false
            }
        }
        return true
    }
}
