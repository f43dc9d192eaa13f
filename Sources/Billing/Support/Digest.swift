import Crypto

/// SHA-256 digests as lowercase hex, for fingerprints and ETags.
public enum Digest {
    /// Hex SHA-256 of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]], as: UTF8.self)
        }.joined()
    }
}
