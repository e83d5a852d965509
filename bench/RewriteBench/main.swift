// Throughput of the rewrite engine, beside a plain copy of the same bytes measured in the
// same run. Usage: rewrite-bench CORPUS_DIR [SECONDS_PER_CASE]
import Foundation
import Crypto
import Rewrite

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: rewrite-bench CORPUS_DIR [SECONDS]\n".utf8))
    exit(2)
}
let seconds = arguments.count > 2 ? Double(arguments[2]) ?? 3 : 3
let directory = URL(fileURLWithPath: arguments[1])
let corpus = try FileManager.default.contentsOfDirectory(atPath: directory.path)
    .filter { $0.hasSuffix(".eml") }.sorted()
    .map { [UInt8](try Data(contentsOf: directory.appendingPathComponent($0))) }

/// A 1 MB HTML newsletter with 500 links, quoted-printable, in a multipart/alternative.
func newsletter() -> [UInt8] {
    var html = "<!DOCTYPE html><html><head><style>p{color:#333}</style></head><body><table>"
    var i = 0
    while html.utf8.count < 1_000_000 {
        if i < 500 {
            html += "<tr><td><a href=\"https://shop.example.com/products/item-\(i)?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=winter\">Product \(i)</a></td></tr>\n"
        }
        html += "<tr><td><p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. \(i)</p></td></tr>\n"
        i += 1
    }
    html += "</table></body></html>\n"
    let body = Array(QuotedPrintable.encode(Array(html.utf8), lineEnding: .crlf))
    let head = "From: news@example.org\r\nTo: a@example.net\r\nSubject: Newsletter\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nPlain version https://shop.example.com/\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    return Array(head.utf8) + body + Array("\r\n--b--\r\n".utf8)
}

let secret = KeyRing.generateSecret()
let ring = try KeyRing(keys: [1: secret], activeKeyID: 1)
let rewriter = MessageRewriter(options: .init(trackingBase: "https://t.example.com", keyRing: ring))
let id = TrackingID.random()

/// Calls `body` in runs of `batch` (the clock is read between runs) for about `seconds`;
/// returns the seconds per call and the sum of what it returned (kept, so nothing is optimised away).
func secondsPerCall(batch: Int = 1, _ body: () -> Int) -> (seconds: Double, check: Int) {
    var calls = 0, check = 0
    let start = Date()
    repeat {
        for _ in 0..<batch { check &+= body() }
        calls += batch
    } while Date().timeIntervalSince(start) < seconds
    return (Date().timeIntervalSince(start) / Double(calls), check)
}

/// Runs `body` over `messages` repeatedly for about `seconds`; returns MB/s (10^6 bytes).
func measure(_ messages: [[UInt8]], _ body: ([UInt8]) -> Int) -> (mbps: Double, check: Int) {
    let bytes = messages.reduce(0) { $0 + $1.count }
    let timed = secondsPerCall { messages.reduce(0) { $0 &+ body($1) } }
    return (Double(bytes) / timed.seconds / 1e6, timed.check)
}

func copy(_ m: [UInt8]) -> Int {
    var out = [UInt8]()
    out.reserveCapacity(m.count)
    out.append(contentsOf: m)
    return out.count &+ Int(out[out.count / 2])
}

func rewrite(_ m: [UInt8]) -> Int {
    let (out, result) = rewriter.rewrite(message: m, trackingID: id, issuedAt: 1_700_000_000)
    precondition(result.isTracked, "benchmark input not tracked: \(String(describing: result.skip))")
    return out.count
}

let letter = newsletter()
print("rewrite benchmark (release build, one core, \(Int(seconds)) s per case)")
print("input                          bytes     copy MB/s   rewrite MB/s   rewrite/copy")
for (name, set) in [("corpus (35 messages)", corpus), ("newsletter 1 MB, 500 links", [letter])] {
    let size = set.reduce(0) { $0 + $1.count }
    let c = measure(set, copy)
    let r = measure(set, rewrite)
    let ratio = r.mbps / c.mbps
    print(name.padding(toLength: 30, withPad: " ", startingAt: 0)
          + String(format: " %9d  %10.0f  %13.1f  %13.4f", size, c.mbps, r.mbps, ratio))
}

// Token verification, the tracker's per-request work: decode + HMAC check + inflate of a
// click token, beside one plain SHA-256 of the same bytes (the floor for any HMAC check).
let destination = Array("https://shop.example/landing?utm_source=newsletter&utm_medium=email&id=17-1".utf8)
let token = TrackingToken(kind: .click, issuedAt: 1_700_000_000, trackingID: id, linkIndex: 1, destination: destination)
let tokenText = Array(token.encoded(with: ring).utf8)

let verify = secondsPerCall(batch: 1000) {
    tokenText.withUnsafeBytes { bytes in
        (try? TrackingToken.decode(utf8: bytes, keyRing: ring))?.token.destination.count ?? -1
    }
}
let hash = secondsPerCall(batch: 1000) {
    tokenText.withUnsafeBytes { bytes in Int(SHA256.hash(data: bytes).withUnsafeBytes { $0[0] }) }
}
let key = SymmetricKey(data: Array(0..<32) as [UInt8])
let keyedGeneric = HMAC<SHA256>(key: key)
let genericHMAC = secondsPerCall(batch: 1000) {
    tokenText.withUnsafeBytes { bytes in
        var mac = keyedGeneric
        mac.update(data: bytes)
        return Int(mac.finalize().withUnsafeBytes { $0[0] })
    }
}
let keyed = HMACSHA256(key: Array(0..<32) as [UInt8])
let concreteHMAC = secondsPerCall(batch: 1000) {
    tokenText.withUnsafeBytes { bytes in Int(keyed.withCode(of: bytes) { $0[0] }) }
}
print("")
print("token (\(tokenText.count) bytes)               verify ns   SHA-256 ns   verify/SHA-256")
print("click, deflated destination   " + String(format: " %10.0f  %11.0f  %15.1f", verify.seconds * 1e9, hash.seconds * 1e9, verify.seconds / hash.seconds))
print("HMAC-SHA256 of the token: swift-crypto HMAC<SHA256> \(String(format: "%.0f", genericHMAC.seconds * 1e9)) ns,"
      + " Rewrite's HMACSHA256 \(String(format: "%.0f", concreteHMAC.seconds * 1e9)) ns (both with the key absorbed once)")
