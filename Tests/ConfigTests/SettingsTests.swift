import Testing
import Rewrite
@testable import Config

@Suite struct ConfigFileTests {
    @Test func postfixSyntax() throws {
        let text = """
        # comment
        tracking_base_url = https://t.example.com/

        campaign_headers = X-Campaign-ID,
            X-List-Id
        redis_timeout=50ms\r
        """
        let entries = try ConfigFile.parse(text, source: "f.conf")
        #expect(entries == [
            ConfigEntry(key: "tracking_base_url", value: "https://t.example.com/", source: "f.conf", line: 2),
            ConfigEntry(key: "campaign_headers", value: "X-Campaign-ID, X-List-Id", source: "f.conf", line: 4),
            ConfigEntry(key: "redis_timeout", value: "50ms", source: "f.conf", line: 6),
        ])
    }

    @Test func lexicalErrorsNameTheLine() {
        #expect(throws: ConfigError(source: "f.conf", line: 2, message: "expected \"name = value\", found \"oops\"")) {
            try ConfigFile.parse("a = b\noops\n", source: "f.conf")
        }
        #expect(throws: ConfigError(source: "f.conf", line: 1, message: "continuation line without a parameter before it")) {
            try ConfigFile.parse("  x\n", source: "f.conf")
        }
        #expect(throws: ConfigError(source: "f.conf", line: 1, message: "\"bad key\" is not a parameter name")) {
            try ConfigFile.parse("bad key = 1\n", source: "f.conf")
        }
    }
}

@Suite struct SettingsTests {
    @Test func defaultsMatchTheDocumentedDefaults() throws {
        // Applying every documented default string must give exactly the built-in defaults.
        let text = Settings.parameters.map { "\($0.name) = \($0.defaultValue)" }.joined(separator: "\n")
        let parsed = try Settings.parse(text, source: "defaults")
        for p in Settings.parameters {
            #expect(p.current(parsed) == p.current(Settings()), "\(p.name)")
            #expect(p.current(Settings()) == p.defaultValue, "\(p.name)")
        }
    }

    @Test func redisHostIsAnAddressOrASocketPath() throws {
        let tcp = try Settings.parse("redis_host = redis.internal\nredis_port = 6380\nredis_db = 2", source: "f.conf").redisEndpoint
        #expect(tcp.unixSocketPath == nil && tcp.description == "redis.internal:6380/2")
        let socket = try Settings.parse("redis_host = /run/redis/redis-server.sock\nredis_db = 2", source: "f.conf").redisEndpoint
        #expect(socket.unixSocketPath == "/run/redis/redis-server.sock")
        #expect(socket.description == "unix:/run/redis/redis-server.sock db 2")
    }

    @Test func typedValuesAndOverrides() throws {
        let s = try Settings.parse("""
            tracking_base_url = https://t.example.com/
            redis_timeout = 50ms
            message_ttl = 3d
            max_message_size = 20M
            milter_socket = inet:127.0.0.1:9000
            tracker_listen = [::1]:8081
            sender_tracking = billing@example.com off, .news.example.org opens
            track_text_parts = no
            """, source: "f.conf", overrides: ["redis_port=6380", "track_text_parts = yes"])
        #expect(s.trackingBaseURL == "https://t.example.com")
        #expect(s.redisTimeout == 0.05)
        #expect(s.messageTTL == 3 * 86400)
        #expect(s.maxMessageSize == 20 << 20)
        #expect(s.milterSocket == .inet(host: "127.0.0.1", port: 9000))
        #expect(s.trackerListen.host == "::1" && s.trackerListen.port == 8081)
        #expect(s.senderTracking == [SenderRule(pattern: "billing@example.com", mode: .off),
                                     SenderRule(pattern: ".news.example.org", mode: .opens)])
        #expect(s.redisPort == 6380)
        #expect(s.trackTextParts)
        #expect(s.rendered(onlyChanged: true).contains("redis_port = 6380"))
    }

    @Test func badValuesNameFileLineAndKey() {
        let cases: [(String, String)] = [
            ("redis_timeout = 20x", "f.conf:1: redis_timeout: \"20x\" is not a duration (use 200ms, 5s, 10d)"),
            ("x = 1\ntrack_opens = maybe", "f.conf:1: x: unknown parameter (see `mailtrail config --defaults`)"),
            ("track_opens = maybe", "f.conf:1: track_opens: \"maybe\" is not yes or no"),
            ("redis_port = 70000", "f.conf:1: redis_port: \"70000\" is not a whole number from 1 to 65535"),
            ("tracking_base_url = ftp://x", "f.conf:1: tracking_base_url: \"ftp://x\" must start with https:// or http://"),
            ("milter_socket = 8893", "f.conf:1: milter_socket: \"8893\" is not a milter socket (use inet:8893@127.0.0.1 or unix:/run/mailtrail/milter.sock)"),
            ("sender_tracking = example.org sometimes", "f.conf:1: sender_tracking: \"example.org sometimes\" is not `pattern mode` (e.g. example.org off)"),
            ("max_message_size = 5T", "f.conf:1: max_message_size: \"5T\" is not a size (use 1048576, 512k, 1M, 2G)"),
        ]
        for (text, message) in cases {
            do {
                _ = try Settings.parse(text, source: "f.conf")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description == message)
            }
        }
        #expect(throws: ConfigError(source: "command line", key: "redis_port",
                                    message: "\"x\" is not a whole number from 1 to 65535")) {
            try Settings.parse("", source: "f.conf", overrides: ["redis_port=x"])
        }
    }

    @Test func missingExplicitFileIsAnErrorButMissingDefaultIsNot() throws {
        #expect(throws: ConfigError(source: "/nonexistent/m.conf", message: "cannot read the configuration: no such file")) {
            try Settings.load(path: "/nonexistent/m.conf")
        }
    }

    @Test func milterSocketSpellings() throws {
        #expect(try MilterSocket(parsing: "inet:8893@127.0.0.1") == .inet(host: "127.0.0.1", port: 8893))
        #expect(try MilterSocket(parsing: "inet:127.0.0.1:8893").libmilterSpec == "inet:8893@127.0.0.1")
        #expect(try MilterSocket(parsing: "inet6:8893@[::1]") == .inet6(host: "::1", port: 8893))
        #expect(try MilterSocket(parsing: "local:/run/m.sock") == .unix(path: "/run/m.sock"))
        #expect(try MilterSocket(parsing: "unix:/run/m.sock").postfixSpec == "unix:/run/m.sock")
        #expect(throws: ConfigValue.Invalid.self) { try MilterSocket(parsing: "unix:relative.sock") }
        #expect(throws: ConfigValue.Invalid.self) { try MilterSocket(parsing: "inet:99999@127.0.0.1") }
    }
}

@Suite struct SenderRuleTests {
    @Test func mostSpecificRuleWins() {
        let rules = [SenderRule(pattern: "example.org", mode: .off),
                     SenderRule(pattern: "News@Example.org", mode: .all),
                     SenderRule(pattern: ".example.org", mode: .opens),
                     SenderRule(pattern: ".mail.example.org", mode: .clicks)]
        #expect(SenderRule.mode(for: "<news@example.org>", in: rules) == .all)
        #expect(SenderRule.mode(for: "billing@EXAMPLE.org", in: rules) == .off)
        #expect(SenderRule.mode(for: "a@eu.example.org", in: rules) == .opens)
        #expect(SenderRule.mode(for: "a@x.mail.example.org", in: rules) == .clicks)
        #expect(SenderRule.mode(for: "a@example.com", in: rules) == nil)
        #expect(SenderRule.mode(for: "", in: rules) == nil)
        #expect(TrackingMode(parsing: " Clicks ") == .clicks)
        #expect(TrackingMode(parsing: "sometimes") == nil)
    }
}
