import NIOCore
import Testing
@testable import TrackerCore

@Suite struct RequestHeadParserTests {
    /// A parsed head with its ranges turned into text.
    struct Parsed: Equatable {
        var method: RequestHead.Method
        var target: String
        var http10 = false
        var keepAlive = true
        var endsStream = false
        var realIP: String?
        var forwardedFor: [String] = []
        var userAgent: String?
    }

    static func parse(_ text: String) throws(RequestHeadError) -> Parsed {
        let head = try RequestHeadParser.parse(ByteBuffer(string: text))
        return Parsed(method: head.method, target: head.text(head.target), http10: head.http10, keepAlive: head.keepAlive,
                      endsStream: head.endsStream, realIP: head.realIP.map(head.text),
                      forwardedFor: head.forwardedFor.map(head.text), userAgent: head.userAgent.map(head.text))
    }

    @Test func tokenBytesAreExactlyTheTcharOfRFC9110() {
        let tchar = Set(Array("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8))
        for byte in UInt8.min...UInt8.max {
            #expect(RequestHeadParser.isTokenByte(byte) == tchar.contains(byte), "byte \(byte)")
        }
        #expect(throws: RequestHeadError.malformed) { try Self.parse("GET /x HTTP/1.1\r\nBad(name): 1\r\n\r\n") }
        #expect(throws: RequestHeadError.malformed) { try Self.parse("G@T /x HTTP/1.1\r\n\r\n") }
    }

    @Test func aBrowserRequest() throws {
        let head = """
            GET /c/AbC-_9?x=1 HTTP/1.1\r
            Host: t.example\r
            User-Agent:  Mozilla/5.0 (X11; Linux x86_64) \t\r
            Accept: text/html,*/*;q=0.8\r
            x-real-ip: 203.0.113.9\r
            X-Real-IP: 198.51.100.1\r
            X-Forwarded-For: 10.0.0.1, 203.0.113.9\r
            X-FORWARDED-FOR: 127.0.0.1\r
            Accept-Language: é\r
            \r

            """
        #expect(try Self.parse(head) == Parsed(
            method: .get, target: "/c/AbC-_9?x=1", realIP: "203.0.113.9", forwardedFor: ["10.0.0.1, 203.0.113.9", "127.0.0.1"],
            userAgent: "Mozilla/5.0 (X11; Linux x86_64)"))
    }

    @Test func methodsVersionsAndTargets() throws {
        #expect(try Self.parse("HEAD /o/x.gif HTTP/1.1\r\n\r\n") == Parsed(method: .head, target: "/o/x.gif"))
        #expect(try Self.parse("POST /x HTTP/1.1\n\n") == Parsed(method: .other, target: "/x"))
        #expect(try Self.parse("get /x HTTP/1.1\r\n\r\n") == Parsed(method: .other, target: "/x"))  // methods are case-sensitive
        #expect(try Self.parse("OPTIONS * HTTP/1.1\r\n\r\n") == Parsed(method: .other, target: "*"))
        #expect(try Self.parse("GET http://t.test/healthz HTTP/1.1\r\n\r\n") == Parsed(method: .get, target: "http://t.test/healthz"))
        #expect(try Self.parse("GET /é HTTP/1.1\r\n\r\n") == Parsed(method: .get, target: "/é"))
        #expect(try Self.parse("CONNECT t.test:443 HTTP/1.1\r\n\r\n") == Parsed(method: .connect, target: "t.test:443", endsStream: true))
        #expect(try Self.parse("\r\n\nGET / HTTP/1.0\r\n\r\n") == Parsed(method: .get, target: "/", http10: true, keepAlive: false))
    }

    @Test func keepAliveFollowsVersionAndConnection() throws {
        #expect(try Self.parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keepAlive == false)
        #expect(try Self.parse("GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").keepAlive == false)
        #expect(try Self.parse("GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n").keepAlive == true)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive == true)
        #expect(try Self.parse("GET / HTTP/1.0\r\nconnection: te,  keep-alive \r\n\r\n").keepAlive == true)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").keepAlive == false)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n").keepAlive == false)
    }

    @Test func bodiesAndUpgradesEndTheStream() throws {
        #expect(try Self.parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").endsStream)
        #expect(try Self.parse("POST / HTTP/1.1\r\nContent-Length: 00\r\n\r\n").endsStream)
        #expect(try Self.parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").endsStream)
        #expect(try Self.parse("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n").endsStream)
        #expect(try Self.parse("GET / HTTP/1.1\r\nContent-Length:  0 \r\n\r\n").endsStream == false)
        #expect(try Self.parse("GET / HTTP/1.1\r\nContent-Lengths: 9\r\n\r\n").endsStream == false)
    }

    @Test func malformedHeadsAreRefused() {
        for head in [
            "GET / HTTP/1.1\r\nBad Header Line\r\n\r\n",      // no colon
            "GET / HTTP/1.1\r\nName : value\r\n\r\n",         // white space before the colon
            "GET / HTTP/1.1\r\n: value\r\n\r\n",              // empty name
            "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",       // obs-fold
            "GET / HTTP/1.1\r\nA: b\u{0}c\r\n\r\n",            // NUL in a value
            "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",               // bare CR
            "GET / HTTP/1.1\r\nA: b\u{7F}\r\n\r\n",            // DEL
            "GET /  HTTP/1.1\r\n\r\n",                         // two spaces
            "GET / HTTP/1.1 \r\n\r\n",                         // trailing space
            "GET /\tx HTTP/1.1\r\n\r\n",                       // tab in the target
            "GET / HTTP/2.0\r\n\r\n",                          // unknown version
            "GET / http/1.1\r\n\r\n",
            "GET /\r\n\r\n",                                   // HTTP/0.9
            " GET / HTTP/1.1\r\n\r\n",                         // no method
            "G(T / HTTP/1.1\r\n\r\n",                          // not a token
            "GET / HTTP/1.1\r\nA: b\r\n",                      // no empty line
            "GET / HTTP/1.1\r\n\r\nX",                         // bytes after the head
            "\r\n\r\n",                                        // no request line at all
        ] {
            #expect(throws: RequestHeadError.malformed, "\(head.debugDescription)") { try Self.parse(head) }
        }
    }
}
