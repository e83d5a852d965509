/// A fixture that could not be set up (a server that would not start, no free port, …).
public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
