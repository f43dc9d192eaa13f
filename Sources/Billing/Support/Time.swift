import Foundation

extension Date {
    /// Whole seconds since 1970, the resolution at which the database stores instants.
    public var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }

    /// The instant `seconds` after 1970.
    public init(unixSeconds seconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Milliseconds since 1970: for schedules finer than a second (webhook retries).
    public var unixMilliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }

    /// The instant `milliseconds` after 1970.
    public init(unixMilliseconds milliseconds: Int64) {
        self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    /// This instant without its fraction of a second, so that what is returned at creation equals
    /// what is read back later.
    public var truncatedToSeconds: Date { Date(unixSeconds: unixSeconds) }
}
