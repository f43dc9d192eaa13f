import Billing
import Foundation
import Testing

/// Secrets sealed with the master key: they open only with that key and unchanged, and the key
/// file is created private and refused when others can read it.
@Suite struct SecretBoxTests {
    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func aSealedSecretOpensOnlyWithItsKeyAndUnchanged() throws {
        let box = SecretBox.ephemeral()
        let sealed = try box.seal("sk_test_4eC39HqLyjWDarjtT1zdp7dc")
        #expect(!String(decoding: sealed, as: UTF8.self).contains("sk_test"))
        #expect(try box.open(sealed) == "sk_test_4eC39HqLyjWDarjtT1zdp7dc")
        #expect(try box.seal("same") != box.seal("same"), "a fresh nonce each time")
        var tampered = sealed
        tampered[tampered.count / 2] ^= 1
        #expect(throws: BillingError.self) { try box.open(tampered) }
        #expect(throws: BillingError.self) { try SecretBox.ephemeral().open(sealed) }
    }

    @Test func theMasterKeyFileIsCreatedPrivateAndReadBack() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("nested/master.key").path
        let first = try SecretBox.masterKey(at: path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect((attributes[.size] as? NSNumber)?.intValue == SecretBox.keyLength)
        let sealed = try first.seal("rk_live_secret")
        #expect(try SecretBox.masterKey(at: path).open(sealed) == "rk_live_secret", "the same key after a restart")
        #expect(SecretBox.defaultPath(forDatabase: "/var/lib/checkout/db.sqlite") == "/var/lib/checkout/master.key")
    }

    @Test func aKeyFileOthersCanReadOrOfTheWrongLengthIsRefused() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let open = folder.appendingPathComponent("open.key").path
        FileManager.default.createFile(atPath: open, contents: Data(repeating: 7, count: 32), attributes: [.posixPermissions: 0o644])
        #expect(throws: BillingError.self) { try SecretBox.masterKey(at: open) }
        let short = folder.appendingPathComponent("short.key").path
        FileManager.default.createFile(atPath: short, contents: Data(repeating: 7, count: 16), attributes: [.posixPermissions: 0o600])
        #expect(throws: BillingError.self) { try SecretBox.masterKey(at: short) }
    }
}
