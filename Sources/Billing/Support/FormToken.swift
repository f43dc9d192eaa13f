import Crypto
import Foundation
import GRDB

/// Signs and checks the `csrf_token` of hosted forms without storing anything per visitor: a token
/// is `<hour>.<HMAC-SHA256(secret, path + hour)>`, valid for the form's own path for 24 hours.
/// Tokens change once an hour, so a page is the same bytes for everyone within that hour.
public struct FormTokenSigner: Sendable {
    private let secret: [UInt8]
    /// How long a token is accepted.
    public static let lifetime: TimeInterval = 24 * 3600

    /// A signer with `secret` (at least 32 bytes).
    public init(secret: [UInt8]) {
        self.secret = secret
    }

    /// The token for a form posting to `path`, at `now`.
    public func token(for path: String, at now: Date) -> String {
        let hour = Int64(now.timeIntervalSince1970 / 3600)
        return "\(hour).\(signature(path: path, hour: hour))"
    }

    /// The first instant the token of `now` is replaced by a new one.
    public static func nextRotation(after now: Date) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 + 3600)
    }

    /// Whether `token` was made by this signer for `path` within the lifetime (a little clock skew
    /// into the future is tolerated).
    public func isValid(_ token: String, for path: String, at now: Date) -> Bool {
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, let hour = Int64(parts[0]) else { return false }
        let current = Int64(now.timeIntervalSince1970 / 3600)
        guard hour <= current + 1, hour >= current - Int64(Self.lifetime / 3600) else { return false }
        let expected = Array(signature(path: path, hour: hour).utf8)
        let given = Array(parts[1].utf8)
        // Constant-time comparison: no early exit on the first differing byte.
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func signature(path: String, hour: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(path)\n\(hour)".utf8), using: SymmetricKey(data: secret))
        // base64url without padding, mapped byte by byte (three `replacingOccurrences` cost more
        // than the HMAC itself, on every page and every form post).
        let url = Data(mac).base64EncodedString().utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: url, as: UTF8.self)
    }
}

extension Ledger {
    /// The server's secret named `name`, created (32 random bytes) on first use and kept in the
    /// database so that tokens signed before a restart stay valid after it.
    public func serverSecret(named name: String) throws -> [UInt8] {
        if let data = try fetchValue(Data.self, "SELECT value FROM server_secret WHERE name = ?", arguments: [name]) {
            return [UInt8](data)
        }
        var generator = SystemRandomNumberGenerator()
        let secret = (0..<4).flatMap { _ in withUnsafeBytes(of: generator.next() as UInt64) { Array($0) } }
        try execute("INSERT INTO server_secret (name, value) VALUES (?, ?)", arguments: [name, Data(secret)])
        return secret
    }
}
