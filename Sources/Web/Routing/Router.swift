import Foundation

/// Matches a method and a path to a handler. Patterns are paths whose segments are literals or
/// parameters written `:name` (`/v1/plans/:id`); a literal wins over a parameter at the same place.
struct Router<Handler: Sendable>: Sendable {
    /// Outcome of a lookup.
    enum Match {
        /// A route matched; `parameters` holds the values of its `:name` segments.
        case found(Handler, parameters: [String: String])
        /// The path matched, the method did not; `allowed` lists the methods that would.
        case methodNotAllowed(allowed: [String])
        /// Nothing matched the path.
        case notFound
    }

    private struct Route {
        let method: String
        let segments: [Segment]
        let handler: Handler
    }

    private enum Segment: Equatable {
        case literal(String)
        case parameter(String)
    }

    private var routes: [Route] = []

    /// Adds a route. Later additions do not override earlier ones.
    mutating func add(_ method: String, _ pattern: String, _ handler: Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { part in
            part.hasPrefix(":") ? Segment.parameter(String(part.dropFirst())) : Segment.literal(String(part))
        }
        routes.append(Route(method: method, segments: Array(segments), handler: handler))
    }

    /// Every route as it was added: its method and its pattern (`/v1/plans/:id`), in order. What the
    /// API documents is checked against this list, so an endpoint cannot exist undocumented.
    var registeredRoutes: [(method: String, pattern: String)] {
        routes.map { route in
            let path = route.segments.map { segment in
                switch segment {
                case .literal(let text): text
                case .parameter(let name): ":\(name)"
                }
            }
            return (route.method, "/" + path.joined(separator: "/"))
        }
    }

    /// Looks up a request. `HEAD` is answered by `GET` routes.
    func match(method: String, segments: [Substring]) -> Match {
        var best: (route: Route, parameters: [String: String], literals: Int)?
        var allowed: [String] = []
        for route in routes {
            guard let (parameters, literals) = Self.bind(route.segments, to: segments) else { continue }
            if !allowed.contains(route.method) { allowed.append(route.method) }
            guard route.method == method || (method == "HEAD" && route.method == "GET") else { continue }
            if best == nil || literals > best!.literals {
                best = (route, parameters, literals)
            }
        }
        if let best { return .found(best.route.handler, parameters: best.parameters) }
        if !allowed.isEmpty {
            if allowed.contains("GET") && !allowed.contains("HEAD") { allowed.append("HEAD") }
            return .methodNotAllowed(allowed: allowed)
        }
        return .notFound
    }

    private static func bind(_ pattern: [Segment], to segments: [Substring]) -> ([String: String], Int)? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        var literals = 0
        for (expected, actual) in zip(pattern, segments) {
            switch expected {
            case .literal(let text):
                guard actual == text else { return nil }
                literals += 1
            case .parameter(let name):
                guard !actual.isEmpty else { return nil }
                parameters[name] = actual.contains("%") ? (actual.removingPercentEncoding ?? String(actual)) : String(actual)
            }
        }
        return (parameters, literals)
    }
}
