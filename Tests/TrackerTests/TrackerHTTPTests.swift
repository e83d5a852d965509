import Foundation
import Store
import TestSupport
import Testing
@testable import TrackerCore

/// The tracker over real loopback sockets: statuses, headers, bodies, keep-alive, pipelining,
/// limits and timeouts.
@Suite(.serialized) struct TrackerHTTPTests {
    typealias F = TrackerFixtures
    typealias Response = RawHTTPConnection.Response

    static let noStore = "no-store, no-cache, must-revalidate, max-age=0"
    static let pixel = Response(status: 200, headers: [
        ("Content-Type", "image/gif"), ("Content-Length", "43"), ("Cache-Control", noStore),
        ("Pragma", "no-cache"), ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
    ], body: TrackerResponses.gif)
    static let notFound = Response(status: 404, headers: [
        ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", String(TrackerResponses.notFoundPage.count)),
        ("Cache-Control", noStore), ("X-Content-Type-Options", "nosniff"),
    ], body: TrackerResponses.notFoundPage)

    static func redirect(_ location: String) -> Response {
        Response(status: 302, headers: [("Location", location), ("Cache-Control", noStore), ("Content-Length", "0")], body: [])
    }

    /// Runs `body` against a fresh tracker and Redis.
    static func withTracker(_ settings: String = "", _ body: (TrackerHarness) throws -> Void) throws {
        let redis = try RedisServer()
        defer { redis.shutdown() }
        let tracker = try TrackerHarness(redis: redis, settings: settings)
        defer { tracker.stop() }
        try body(tracker)
    }

    @Test func pixelAndRedirect() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            #expect(try connection.get(F.pixelPath()) == Self.pixel)
            #expect(try connection.get(F.clickPath("https://example.com/a?b=1&c=%20")) == Self.redirect("https://example.com/a?b=1&c=%20"))
            #expect(try connection.get("/healthz") == Response(status: 200, headers: [
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "3"), ("Cache-Control", Self.noStore),
            ], body: Array("ok\n".utf8)))
            #expect(try tracker.waitForStream(length: 2) == 2)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            try connection.send(RawHTTPConnection.request(F.clickPath("https://example.com/1"))
                                + RawHTTPConnection.request("/nope") + RawHTTPConnection.request(F.pixelPath())
                                + RawHTTPConnection.request(F.clickPath("https://example.com/2"), method: "HEAD"))
            #expect(try connection.readResponse() == Self.redirect("https://example.com/1"))
            #expect(try connection.readResponse() == Response(status: 404, headers: Self.notFound.headers, body: Self.notFound.body))
            #expect(try connection.readResponse() == Self.pixel)
            #expect(try connection.readResponse(bodyExpected: false) == Self.redirect("https://example.com/2"))
            // The connection stays usable: keep-alive.
            #expect(try connection.get(F.pixelPath(), method: "HEAD") == Response(status: 200, headers: Self.pixel.headers, body: []))
            #expect(try connection.get("/healthz").status == 200)
            // GET click + GET pixel recorded; HEADs not.
            #expect(try tracker.waitForStream(length: 2) == 2)
            usleep(200_000)
            #expect(try tracker.streamLength() == 2)
        }
    }

    @Test func badTokensGetAPixelOrA404AndRecordNothing() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            #expect(try connection.get("/o/AAAA.gif") == Self.pixel)
            #expect(try connection.get(F.pixelPath(ring: F.foreignRing)) == Self.pixel)
            #expect(try connection.get(F.clickPath("https://evil.test/", ring: F.foreignRing)) == Self.notFound)
            #expect(try connection.get("/c/" + String(repeating: "_", count: 90)) == Self.notFound)
            #expect(try connection.get("/o/x.png") == Self.notFound)
            #expect(try connection.get("/") == Self.notFound)
            #expect(try connection.get(F.pixelPath()) == Self.pixel)  // the one valid hit
            #expect(try tracker.waitForStream(length: 1) == 1)
            usleep(200_000)
            #expect(try tracker.streamLength() == 1)
        }
    }

    @Test func expiredLinksGet404() throws {
        try Self.withTracker("link_lifetime = 1d") { tracker in
            let connection = try tracker.connect()
            let now = UInt32(Date().timeIntervalSince1970)
            #expect(try connection.get(F.clickPath("https://example.com/old", issuedAt: now - 2 * 86400)) == Self.notFound)
            #expect(try connection.get(F.clickPath("https://example.com/new", issuedAt: now - 3600)) == Self.redirect("https://example.com/new"))
            #expect(try tracker.waitForStream(length: 1) == 1)
            usleep(200_000)
            #expect(try tracker.events().map(\.url) == ["https://example.com/new"])
        }
    }

    @Test func destinationsCannotInjectHeaders() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            let hostile: [UInt8] = Array("https://example.com/x\r\nSet-Cookie: a=b\r\n\r\n<html>".utf8) + [0x00, 0xC3, 0xA9]
            let response = try connection.get(F.clickPath(bytes: hostile))
            #expect(response == Self.redirect("https://example.com/x%0D%0ASet-Cookie:%20a=b%0D%0A%0D%0A%3Chtml%3E%00%C3%A9"))
            #expect(try connection.get("/healthz").status == 200)  // the stream of responses is intact
        }
    }

    @Test func otherMethodsGet405() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            let allow = Response(status: 405, headers: [("Allow", "GET, HEAD"), ("Content-Length", "0")], body: [])
            #expect(try connection.get(F.pixelPath(), method: "POST") == allow)
            #expect(try connection.get(F.clickPath("https://example.com/"), method: "DELETE") == allow)
            #expect(try connection.get("/metrics", method: "OPTIONS") == allow)
            #expect(try connection.get("/elsewhere", method: "PUT") == Self.notFound)
            // A request with a body is answered, then the connection is closed.
            try connection.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try connection.readResponse() == Response(status: 405, headers: [
                ("Allow", "GET, HEAD"), ("Content-Length", "0"), ("Connection", "close")], body: []))
            #expect(connection.isClosedByServer())
        }
    }

    @Test func connectionCloseAndHTTP10() throws {
        try Self.withTracker { tracker in
            var connection = try tracker.connect()
            #expect(try connection.get("/healthz", headers: ["Connection: close"]).header("Connection") == "close")
            #expect(connection.isClosedByServer())
            connection = try tracker.connect()
            try connection.send("GET /healthz HTTP/1.0\r\n\r\n")
            let plain = try connection.readResponse()
            #expect(plain.status == 200 && plain.header("Connection") == "close")
            #expect(connection.isClosedByServer())
            connection = try tracker.connect()
            try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try connection.readResponse().header("Connection") == "keep-alive")
            try connection.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try connection.readResponse().status == 200)
        }
    }

    @Test func upgradesAndConnectEndTheConnection() throws {
        try Self.withTracker { tracker in
            var connection = try tracker.connect()
            let upgrade = try connection.get("/healthz", headers: ["Connection: Upgrade", "Upgrade: websocket"])
            #expect(upgrade.status == 200 && upgrade.header("Connection") == "close")
            #expect(connection.isClosedByServer())
            connection = try tracker.connect()
            try connection.send("CONNECT t.test:443 HTTP/1.1\r\nHost: t.test:443\r\n\r\n")
            let tunnel = try connection.readResponse()
            #expect(tunnel.status == 404 && tunnel.header("Connection") == "close")
            #expect(connection.isClosedByServer())
        }
    }

    @Test func http10GetsAnHTTP10StatusLine() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            try connection.send("GET /healthz HTTP/1.0\r\n\r\n")
            #expect(String(decoding: try connection.readUntilClosed(), as: UTF8.self) == "HTTP/1.0 200 OK\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
                    + "Cache-Control: \(Self.noStore)\r\nConnection: close\r\n\r\nok\n")
        }
    }

    @Test func overlongURIAndHeaders() throws {
        try Self.withTracker("tracker_max_uri_length = 1k\ntracker_max_header_size = 1k") { tracker in
            var connection = try tracker.connect()
            try connection.send("GET /c/" + String(repeating: "A", count: 2000) + " HTTP/1.1\r\n\r\n")
            #expect(String(decoding: try connection.readUntilClosed(), as: UTF8.self) == "HTTP/1.1 414 URI Too Long\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 17\r\nConnection: close\r\n\r\n414 URI Too Long\n")
            connection = try tracker.connect()
            try connection.send("GET /healthz HTTP/1.1\r\n" + (0..<40).map { "X-Filler-\($0): \(String(repeating: "v", count: 30))\r\n" }.joined() + "\r\n")
            let refused = String(decoding: try connection.readUntilClosed(), as: UTF8.self)
            #expect(refused.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
            // Just under the limits is fine.
            connection = try tracker.connect()
            #expect(try connection.get("/healthz?" + String(repeating: "q", count: 990)).status == 200)
            #expect(try tracker.metric(#"mailtrail_tracker_requests_total{route="other",status="414"}"#) == 1)
            #expect(try tracker.metric(#"mailtrail_tracker_requests_total{route="other",status="431"}"#) == 1)
        }
    }

    @Test func malformedRequestsGet400() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            try connection.send("GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n")
            let response = try connection.readResponse()
            #expect(response.status == 400)
            #expect(connection.isClosedByServer())
        }
    }

    @Test func slowClientsGet408AndIdleConnectionsAreClosed() throws {
        try Self.withTracker("tracker_header_timeout = 300ms\ntracker_idle_timeout = 600ms") { tracker in
            let slow = try tracker.connect()
            try slow.send("GET /healthz HTTP/1.1\r\nHost: t\r\n")
            let start = Date()
            let answer = String(decoding: try slow.readUntilClosed(), as: UTF8.self)
            #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
            #expect(Date().timeIntervalSince(start) < 5)  // the 300 ms timer, not the client's 10 s

            let idle = try tracker.connect()
            #expect(try idle.get("/healthz").status == 200)
            let idleStart = Date()
            #expect(try idle.readUntilClosed().isEmpty)  // closed without a word
            let idled = Date().timeIntervalSince(idleStart)
            #expect(idled > 0.4 && idled < 6)
        }
    }

    @Test func aClientThatStopsReadingCannotPinMemory() throws {
        try Self.withTracker { tracker in
            // /metrics answers are a few kB: 20 000 of them would be about 60 MB if queued.
            let requests = 20_000
            let greedy = try tracker.connect(timeout: 30, receiveBuffer: 64 * 1024)
            let batch = RawHTTPConnection.request("/metrics")
            let writer = Thread { try? greedy.send(String(repeating: batch, count: requests)) }
            writer.start()
            // The tracker answers until the socket buffers are full, then stops: wait until the
            // count stands still (however fast or loaded this machine is), then check where.
            let metric = #"mailtrail_tracker_requests_total{route="metrics",status="200"}"#
            var answered = -1.0
            for _ in 0..<60 {
                usleep(500_000)
                // Generous: the event loop serving the greedy client may serve this one too,
                // and a /metrics answer costs milliseconds under ThreadSanitizer.
                let now = try tracker.metric(metric, timeout: 60) ?? 0
                if now - answered <= 1 { break }  // each sample is itself one /metrics answer
                answered = now
            }
            print("greedy client: \(Int(answered)) of \(requests) answered before the tracker stopped")
            #expect(answered < Double(requests) / 2, "the tracker kept answering a client that does not read")
            // Once the client reads, everything is answered.
            var read = 0
            while read < requests {
                guard (try? greedy.readResponse())?.status == 200 else { break }
                read += 1
            }
            #expect(read == requests)
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() throws {
        try Self.withTracker { tracker in
            let connection = try tracker.connect()
            _ = try connection.get(F.pixelPath())
            _ = try connection.get(F.pixelPath())
            _ = try connection.get(F.clickPath("https://example.com/"))
            _ = try connection.get("/c/bad")
            _ = try connection.get("/x", method: "POST")
            try tracker.waitForStream(length: 3)
            // The writer counts just after Redis answers: wait for it, then read them all.
            #expect(try tracker.metric("mailtrail_tracker_events_written_total", reaching: 3) == 3)
            let text = String(decoding: try connection.get("/metrics").body, as: UTF8.self)
            for line in [
                #"mailtrail_tracker_requests_total{route="open",status="200"} 2"#,
                #"mailtrail_tracker_requests_total{route="click",status="302"} 1"#,
                #"mailtrail_tracker_requests_total{route="click",status="404"} 1"#,
                #"mailtrail_tracker_requests_total{route="other",status="404"} 1"#,
                "mailtrail_tracker_events_written_total 3",
                "mailtrail_tracker_events_spooled_total 0",
                "mailtrail_tracker_events_replayed_total 0",
                "mailtrail_tracker_events_lost_total 0",
                "mailtrail_tracker_queue_overflows_total 0",
                "mailtrail_tracker_redis_errors_total 0",
                "mailtrail_tracker_redis_config_errors_total 0",
                "mailtrail_tracker_spool_write_errors_total 0",
                "mailtrail_tracker_events_unenriched_total 0",
                "mailtrail_tracker_event_queue_depth 0.0",
                "mailtrail_tracker_spool_bytes 0.0",
                "# HELP mailtrail_tracker_requests_total HTTP answers by route and status.",
                "# TYPE mailtrail_tracker_requests_total counter",
            ] {
                #expect(text.split(separator: "\n").contains(Substring(line)), "\(line)")
            }
            // Only the route and status pairs that can happen exist.
            #expect(text.split(separator: "\n").filter { $0.hasPrefix("mailtrail_tracker_requests_total{") }.count == 14)
        }
    }
}
