import FuzzSupport
import Rewrite

/// Token verification on arbitrary text, and the token round trip on arbitrary fields.
///
/// An input starting with byte 0 is read as fields (see `Fields`): the token they make is
/// signed with key k1 or k2 of `FuzzFixtures.ring`; it must decode to exactly itself,
/// verify under no foreign secret, and stop verifying when any one character is changed
/// or the text is cut short. Any other input is token text: whatever `decode` accepts
/// must re-encode to that very text (so only what `encode` produced with a known key
/// verifies), `inspect` must agree with `decode`, and the tracking paths built from it
/// (text without `/`, `?`, `#`) must verify exactly when the token does and its kind
/// suits the path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    if input.first == 0 {
        roundTrip(Fields(input.dropFirst()))
    } else {
        verify(String(decoding: input, as: UTF8.self))
    }
    return 0
}

/// Checks arbitrary token text.
func verify(_ text: String) {
    let ring = FuzzFixtures.ring()
    let inspection = TrackingToken.inspect(text, keyRing: ring)
    let decoded = try? TrackingToken.decode(text, keyRing: ring)
    require(inspection.isValid == (decoded != nil), "inspect (\(inspection.verification)) and decode disagree on \(text)")
    if let verified = decoded {
        let again = verified.token.encoded(with: FuzzFixtures.ring(active: verified.keyID))
        require(again == text, "accepted a token encode never wrote: \(text) re-encodes to \(again)")
        require(inspection.destination ?? [] == verified.token.destination, "inspect read another destination")
        require((try? TrackingToken.decode(text, keyRing: FuzzFixtures.foreignRing)) == nil,
                "a token verified under a foreign secret")
    }
    // Paths drop a query or fragment and split at '/': only plain token text maps 1:1.
    guard !text.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { return }
    let click = try? TrackingLinks.decode(path: "/c/" + text, keyRing: ring)
    let open = try? TrackingLinks.decode(path: "/o/" + text + ".gif", keyRing: ring)
    require(click == (decoded?.token.kind == .open ? nil : decoded), "/c/ path verification differs from decode")
    require(open == (decoded?.token.kind == .open ? decoded : nil), "/o/ path verification differs from decode")
}

/// Checks the token made of `fields`.
func roundTrip(_ fields: Fields) {
    let token = fields.token
    let text = token.encoded(with: FuzzFixtures.ring(active: fields.keyID))
    let result = Result { () throws(TokenError) in try TrackingToken.decode(text, keyRing: FuzzFixtures.ring()) }
    if token.kind.hasDestination && token.destination.isEmpty {
        require(result == .failure(.missingDestination), "a click without destination: \(result)")
        return
    }
    require(result == .success(VerifiedToken(token: token, keyID: fields.keyID)),
            "token does not round-trip: \(result) for \(text)")
    require(text.utf8.count <= TrackingToken.maxTokenLength, "token text longer than maxTokenLength")
    require((try? TrackingToken.decode(text, keyRing: FuzzFixtures.foreignRing)) == nil,
            "a token verified under a foreign secret")

    var characters = Array(text.utf8)
    characters.removeLast()
    require((try? TrackingToken.decode(String(decoding: characters, as: UTF8.self), keyRing: FuzzFixtures.ring())) == nil,
            "a token cut short still verifies")
    characters = Array(text.utf8)
    let at = fields.mutationIndex % characters.count
    characters[at] = alphabet[fields.mutationCharacter % alphabet.count]
    let mutated = String(decoding: characters, as: UTF8.self)
    if mutated != text {
        require((try? TrackingToken.decode(mutated, keyRing: FuzzFixtures.ring())) == nil,
                "changing character \(at) of \(text) gives \(mutated), which still verifies")
    }
}

let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

/// A token's fields read from fuzz bytes: kind selector (1), key selector (1),
/// issued-at (4), tracking ID (16), link index (4), mutation index (2) and character (1),
/// then the destination (the rest). Missing bytes read as zero.
struct Fields {
    let token: TrackingToken
    let keyID: UInt8
    let mutationIndex: Int
    let mutationCharacter: Int

    init(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) {
        var rest = bytes[...]
        func take(_ n: Int) -> [UInt8] {
            let taken = Array(rest.prefix(n))
            rest = rest.dropFirst(n)
            return taken + [UInt8](repeating: 0, count: n - taken.count)
        }
        func number(_ bytes: [UInt8]) -> Int { bytes.reduce(0) { $0 << 8 | Int($1) } }
        let kind = TokenKind.allCases[Int(take(1)[0]) % TokenKind.allCases.count]
        keyID = take(1)[0] & 1 == 0 ? 1 : 2
        let issuedAt = UInt32(number(take(4)))
        let trackingID = TrackingID(bytes: take(TrackingID.byteCount))
        let linkIndex = UInt32(number(take(4)))
        mutationIndex = number(take(2))
        mutationCharacter = number(take(1))
        token = kind.hasDestination
            ? TrackingToken(kind: kind, issuedAt: issuedAt, trackingID: trackingID, linkIndex: linkIndex,
                            destination: Array(rest))
            : TrackingToken(kind: kind, issuedAt: issuedAt, trackingID: trackingID)
    }
}

@main
enum FuzzTokenDecodeMain {
    static func main() { FuzzerMain.run { data, size in fuzz(data!, size) } }
}
