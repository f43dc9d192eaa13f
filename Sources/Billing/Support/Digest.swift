import Crypto

/// SHA-256 digests as lowercase hex, for fingerprints and ETags.
public enum Digest {
    /// Hex SHA-256 of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        hexString(SHA256.hash(data: bytes))
    }

    /// `bytes` as lowercase hex, two digits each.
    public static func hexString(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let digits = Array("0123456789abcdef".utf8)
}
