import Config
import Testing
@testable import TrackerCore

@Suite struct ClientAddressTests {
    static let loopbackProxies = ClientAddress(trustedProxies: [
        try! NetworkRange(parsing: "127.0.0.1"), try! NetworkRange(parsing: "::1"),
    ])

    static func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

    @Test func untrustedPeerHeadersAreIgnored() {
        let resolved = Self.loopbackProxies.resolve(peer: Self.ip("198.51.100.7"), realIP: "6.6.6.6",
                                                   forwardedFor: ["6.6.6.6"])
        #expect(resolved == "198.51.100.7")
    }

    @Test func trustedPeerPassesXRealIP() {
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("127.0.0.1"), realIP: " 203.0.113.9 ", forwardedFor: []) == "203.0.113.9")
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("::1"), realIP: "2001:DB8:0::1", forwardedFor: []) == "2001:db8::1")
    }

    @Test func forwardedForIsReadFromTheRightSkippingTrustedHops() {
        let resolved = Self.loopbackProxies.resolve(
            peer: Self.ip("127.0.0.1"), realIP: nil, forwardedFor: ["6.6.6.6, 203.0.113.5", "127.0.0.1"])
        #expect(resolved == "203.0.113.5")
    }

    @Test func garbageHeadersFallBackToThePeer() {
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("127.0.0.1"), realIP: "evil.test", forwardedFor: []) == "127.0.0.1")
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("127.0.0.1"), realIP: "1.2.3.4\r\nX: y",
                                             forwardedFor: ["<script>"]) == "127.0.0.1")
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("127.0.0.1"), realIP: nil, forwardedFor: ["127.0.0.1"]) == "127.0.0.1")
        #expect(Self.loopbackProxies.resolve(peer: nil, realIP: "1.2.3.4", forwardedFor: []) == "unknown")
    }

    @Test func aConnectionsPeerIsWorkedOutOnce() {
        let proxy = Self.loopbackProxies.peer(Self.ip("127.0.0.1"))
        #expect(proxy.text == "127.0.0.1" && proxy.isTrusted)
        let client = Self.loopbackProxies.peer(Self.ip("2001:DB8::7"))
        #expect(client.text == "2001:db8::7" && !client.isTrusted)
        let unknown = Self.loopbackProxies.peer(nil)
        #expect(unknown.text == "unknown" && !unknown.isTrusted)
        #expect(Self.loopbackProxies.resolve(peer: proxy, realIP: "203.0.113.9", forwardedFor: []) == "203.0.113.9")
        #expect(Self.loopbackProxies.resolve(peer: proxy, realIP: nil, forwardedFor: ["6.6.6.6, 203.0.113.5"]) == "203.0.113.5")
        #expect(Self.loopbackProxies.resolve(peer: proxy, realIP: nil, forwardedFor: []) == "127.0.0.1")
        #expect(Self.loopbackProxies.resolve(peer: client, realIP: "6.6.6.6", forwardedFor: []) == "2001:db8::7")
        #expect(Self.loopbackProxies.resolve(peer: unknown, realIP: "6.6.6.6", forwardedFor: []) == "unknown")
    }

    @Test func mappedIPv4PeerMatchesIPv4Proxy() {
        #expect(Self.loopbackProxies.resolve(peer: Self.ip("::ffff:127.0.0.1"), realIP: "203.0.113.1", forwardedFor: []) == "203.0.113.1")
        #expect(Self.ip("::ffff:10.1.2.3").description == "10.1.2.3")
    }

    @Test func cidrBlocks() throws {
        let proxies = ClientAddress(trustedProxies: [try NetworkRange(parsing: "10.0.0.0/8"), try NetworkRange(parsing: "fd00::/8")])
        #expect(proxies.isTrusted(Self.ip("10.255.0.1")))
        #expect(!proxies.isTrusted(Self.ip("11.0.0.1")))
        #expect(proxies.isTrusted(Self.ip("fdab::1")))
        #expect(!proxies.isTrusted(Self.ip("fe80::1")))
        #expect(try NetworkRange(parsing: "192.168.1.77/24").description == "192.168.1.0/24")
        #expect(try NetworkRange(parsing: "2001:db8::1/32").description == "2001:db8::/32")
        #expect(try NetworkRange(parsing: "0.0.0.0/0").contains(Self.ip("8.8.8.8")))
    }

    @Test(arguments: ["localhost", "10.0.0.0/33", "::1/129", "1.2.3.4/", "1.2.3", "10.0.0.0/-1", "[::1]", ""])
    func badRangesAreRefused(text: String) {
        #expect(throws: ConfigValue.Invalid.self) { try NetworkRange(parsing: text) }
    }

    @Test func settingsValidateTrustedProxies() throws {
        let settings = try Settings.parse("trusted_proxies = 127.0.0.1, 10.0.0.0/8 ::1\n", source: "t.conf")
        #expect(settings.trustedProxies == ["127.0.0.1", "10.0.0.0/8", "::1"])
        #expect(throws: ConfigError(source: "t.conf", line: 2, key: "trusted_proxies",
                                    message: "\"proxy.example\" is not an IP address or CIDR block (e.g. 127.0.0.1, 10.0.0.0/8, ::1)")) {
            try Settings.parse("redis_port = 6379\ntrusted_proxies = 127.0.0.1, proxy.example\n", source: "t.conf")
        }
    }
}
