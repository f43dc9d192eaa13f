import Billing
import Foundation

/// The hosted pages customers open in a browser. Opening a page never writes.
final class Pages: Sendable {
    private let renderer: PageRenderer
    private let store: Store
    private let clock: Clock

    init(renderer: PageRenderer, store: Store, clock: Clock) {
        self.renderer = renderer
        self.store = store
        self.clock = clock
    }

    /// Answers a request for a page path.
    func handle(_ request: Request) -> Response {
        guard request.method == "GET" || request.method == "HEAD" || request.method == "POST" else {
            var response = message(status: 405, heading: "Method not allowed",
                                   text: "This address can only be opened in a browser.")
            response.headers.add("Allow", "GET, HEAD, POST")
            return response
        }
        return notFound()
    }

    /// The 404 page.
    func notFound() -> Response {
        message(status: 404, heading: "Page not found",
                text: "There is no checkout at this address. Check the link you were given, or ask the merchant for a new one.")
    }

    /// A page with a heading and a sentence, used for every error a customer can meet.
    func message(status: Int, heading: String, text: String) -> Response {
        let page = MessagePage(chrome: PageChrome(title: heading, assetVersion: renderer.assetVersion),
                               heading: heading, message: text, status: status)
        return renderer.response(status: status, template: "message", page: page)
    }
}
