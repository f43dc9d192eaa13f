import Foundation

/// Metadata is stored as a JSON object of strings in one TEXT column.
enum MetadataColumn {
    static func encode(_ metadata: Metadata) throws -> String {
        // Most objects carry none: no encoder for them (every session a link makes is written so).
        if metadata.values.isEmpty { return "{}" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(metadata.values), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> Metadata {
        if text == "{}" { return .empty }
        return Metadata(validated: try JSONDecoder().decode([String: String].self, from: Data(text.utf8)))
    }
}
