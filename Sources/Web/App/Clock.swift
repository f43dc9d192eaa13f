import Foundation

/// Where the current time comes from. Billing rules never read the clock; they are handed `now`,
/// and this decides which `now` that is.
public struct Clock: Sendable {
    /// Returns the current instant.
    public let now: @Sendable () -> Date

    /// A clock reading `now`.
    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    /// The system's wall clock.
    public static let system = Clock { Date() }
}
