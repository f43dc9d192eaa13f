import Foundation

/// Which form submissions the hosted pages accept: the resource-isolation policy OWASP recommends
/// from Fetch Metadata, beside the form token. The token alone does not stop a cross-site POST:
/// anyone can open a page, read its token and post it from their own site, and a customer tricked
/// into that post would pay. The browser tells where a request comes from, so that is checked first.
///
/// - `Sec-Fetch-Site` (every current browser sends it): `same-origin` and `none` (typed, bookmarked)
///   pass; `cross-site` and `same-site` (a sibling subdomain is another merchant's site too) do not.
/// - Without it (older browsers, and clients that are not browsers), `Origin` decides: absent or
///   `null` passes, anything else must be the public URL's origin. `null` must pass: the pages send
///   `Referrer-Policy: no-referrer`, under which a browser's own same-origin form POST says
///   `Origin: null`.
struct CrossSitePolicy: Sendable {
    /// Whether a state-changing request with these headers may proceed on a server whose pages
    /// live at `publicURL`.
    static func allows(_ headers: HTTPHeaders, publicURL: String) -> Bool {
        if let site = headers["Sec-Fetch-Site"]?.trimmingWhitespace(newlines: false).lowercased() {
            return site == "same-origin" || site == "none"
        }
        guard let origin = headers["Origin"]?.trimmingWhitespace(newlines: false), origin.lowercased() != "null" else {
            return true
        }
        guard let theirs = Self.origin(of: origin), let ours = Self.origin(of: publicURL) else { return false }
        return theirs == ours
    }

    /// `scheme://host[:port]` in lower case with the scheme's default port left out, as browsers
    /// write `Origin`; nil when `text` is not an absolute http(s) URL.
    static func origin(of text: String) -> String? {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        guard let port = components.port, port != defaultPort else { return "\(scheme)://\(host)" }
        return "\(scheme)://\(host):\(port)"
    }
}
