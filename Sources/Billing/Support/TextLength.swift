extension String {
    /// The length every limit of the API is measured in: Unicode code points, as JSON Schema's
    /// `maxLength` counts them (the OpenAPI document states the limits that way). Not grapheme
    /// clusters, which Swift's `count` gives: "é" sent as `e` and a combining accent is two code
    /// points and one `Character`, and a limit must not let through what the document refuses.
    public var codePointCount: Int { unicodeScalars.count }
}
