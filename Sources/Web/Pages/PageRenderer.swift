import Foundation
import Mustache

/// Renders hosted pages from the Mustache templates of `Templates/`. `{{x}}` escapes HTML, and
/// templates never use the unescaped forms for data.
struct PageRenderer: Sendable {
    private let library: MustacheLibrary
    /// Appended to asset URLs (`?v=`) so browsers refetch changed files.
    let assetVersion: String

    /// Loads every `.mustache` file of `directory`; a template that does not parse stops the start.
    init(directory: String, assetVersion: String) throws {
        var library = MustacheLibrary()
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mustache") }
        guard !names.isEmpty else {
            throw ServerError(description: "no templates in \(directory)")
        }
        for file in names {
            let text = try String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)
            try library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        self.library = library
        self.assetVersion = assetVersion
    }

    /// The HTML of `template` for `page`, or nil when there is no such template.
    func render(_ template: String, _ page: Any) -> [UInt8]? {
        library.render(page, withTemplate: template).map { Array($0.utf8) }
    }

    /// A complete HTML response with the headers every hosted page carries.
    /// `formActions` are origins (besides the page's own) a form on the page may post or redirect to.
    func response(status: Int, template: String, page: Any, formActions: [String] = []) -> Response {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/html; charset=utf-8")
        headers.add("Content-Security-Policy", Self.contentSecurityPolicy(formActions: formActions))
        headers.add("X-Content-Type-Options", "nosniff")
        headers.add("Referrer-Policy", "no-referrer")
        headers.add("X-Frame-Options", "DENY")
        headers.add("Cache-Control", "no-store")
        guard let body = render(template, page) else {
            return Response(status: 500, headers: headers, body: Array("Template \(template) is missing.".utf8))
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func contentSecurityPolicy(formActions: [String]) -> String {
        let actions = (["'self'"] + formActions).joined(separator: " ")
        return "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action \(actions); frame-ancestors 'none'; base-uri 'none'"
    }
}

/// What every page template gets besides its own fields.
struct PageChrome {
    /// The `<title>` and `<h1>`.
    let title: String
    /// Asset cache-buster.
    let assetVersion: String
    /// Seconds after which the page reloads itself (`<meta http-equiv="refresh">`, no script),
    /// for a page waiting on a payment.
    var refreshSeconds: Int? = nil
}
