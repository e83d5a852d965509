/// Turns one link destination into the tracking URL that replaces it.
///
/// The rewriters call it once per eligible link, in document order, with the destination
/// as a browser would follow it (character references decoded, surrounding whitespace
/// removed), so the caller can number links and sign each destination. Returning `nil`
/// leaves that link exactly as it was.
public typealias LinkWrapper = (_ destination: [UInt8]) -> [UInt8]?
