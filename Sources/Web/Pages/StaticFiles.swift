import Billing
import Foundation

/// The files of `Public/`, read once at start and served from memory under `/static/` with a
/// strong `ETag` and a year-long cache (pages link them with `?v=` and the version, so a changed
/// file gets a new URL). Only files that were found at start exist: a path that is not one of them,
/// `../` tricks included, is 404.
struct StaticFiles: Sendable {
    struct File: Sendable {
        let bytes: [UInt8]
        let etag: String
        let contentType: String
    }

    private let files: [String: File]
    /// A short digest of every file together: the `?v=` of asset links.
    let version: String

    /// Loads every regular file under `directory`.
    init(directory: String) throws {
        var files: [String: File] = [:]
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))
            let bytes = [UInt8](try Data(contentsOf: url))
            files[relative] = File(bytes: bytes, etag: "\"\(Digest.hex(bytes).prefix(20))\"",
                                   contentType: Self.contentType(of: relative))
        }
        self.files = files
        version = String(Digest.hex(files.keys.sorted().flatMap { Array(files[$0]!.etag.utf8) }).prefix(10))
    }

    /// The response for `/static/<name>`.
    func response(for request: Request, name: String) -> Response? {
        guard let file = files[name] else { return nil }
        var headers = HTTPHeaders()
        headers.add("ETag", file.etag)
        headers.add("Cache-Control", "public, max-age=31536000")
        headers.add("X-Content-Type-Options", "nosniff")
        if let tags = request.headers["If-None-Match"],
           tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == file.etag || $0 == "*" }) {
            return Response(status: 304, headers: headers)
        }
        headers.add("Content-Type", file.contentType)
        return Response(status: 200, headers: headers, body: file.bytes)
    }

    private static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension.lowercased() {
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json": "application/json"
        case "txt": "text/plain; charset=utf-8"
        case "woff2": "font/woff2"
        default: "application/octet-stream"
        }
    }
}
