import Crypto
import Foundation

/// Seals the secrets an operator gives the server (a processor's secret key) with the master key,
/// AES-GCM (swift-crypto), so the database never holds them in clear: a copy of the file without
/// the key file reveals nothing, and a sealed value changed by a byte no longer opens.
public struct SecretBox: @unchecked Sendable {
    // @unchecked: SymmetricKey is an immutable value (its bytes are never changed after creation)
    // that swift-crypto 3 has not marked Sendable.
    private let key: SymmetricKey

    /// Bytes of a master key (AES-256).
    public static let keyLength = 32

    /// A box sealing with `key`.
    public init(key: SymmetricKey) {
        self.key = key
    }

    /// A box with a fresh random key that lives only in this process (`--db :memory:`).
    public static func ephemeral() -> SecretBox {
        SecretBox(key: SymmetricKey(size: .bits256))
    }

    /// The box of the master key file at `path`, created (32 random bytes, mode 0600, in a folder
    /// created 0700 if missing) on first need. A file of the wrong length, or readable by others,
    /// is refused: a key anyone on the machine can read protects nothing.
    public static func masterKey(at path: String) throws -> SecretBox {
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: path) {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
            let key = SymmetricKey(size: .bits256)
            let bytes = key.withUnsafeBytes { Data($0) }
            guard fileManager.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw BillingError(.invalidState, "Cannot create the master key file \(path).")
            }
            return SecretBox(key: key)
        }
        let attributes = try fileManager.attributesOfItem(atPath: path)
        if let permissions = (attributes[.posixPermissions] as? NSNumber)?.intValue, permissions & 0o077 != 0 {
            throw BillingError(.invalidState, "The master key file \(path) can be read by other users (mode \(String(permissions, radix: 8))); chmod 600 it.")
        }
        guard let bytes = fileManager.contents(atPath: path), bytes.count == keyLength else {
            throw BillingError(.invalidState, "The master key file \(path) must hold exactly \(keyLength) bytes.")
        }
        return SecretBox(key: SymmetricKey(data: bytes))
    }

    /// The default master key file of a database: `master.key` beside it.
    public static func defaultPath(forDatabase databasePath: String) -> String {
        URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("master.key").path
    }

    /// `plaintext`, sealed (nonce, ciphertext and tag together).
    public func seal(_ plaintext: String) throws -> Data {
        guard let combined = try AES.GCM.seal(Data(plaintext.utf8), using: key).combined else {
            throw BillingError(.invalidState, "Sealing failed.")
        }
        return combined
    }

    /// The plaintext of `sealed`; fails when the key is not the one it was sealed with or the
    /// bytes were changed.
    public func open(_ sealed: Data) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw BillingError(.invalidState, "A stored secret cannot be opened with this master key (was --master-key-file changed?).")
        }
    }
}
