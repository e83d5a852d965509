import Store
import Testing

@Suite struct StreamIDTests {
    @Test func parsesAndOrders() {
        #expect(StreamID("1790000000000-3") == StreamID(milliseconds: 1_790_000_000_000, sequence: 3))
        #expect(StreamID("1790000000000") == StreamID(milliseconds: 1_790_000_000_000))
        for bad in ["", "-", "1-", "-1", "a-1", "1-2-3", "1-x", " 1-2"] {
            #expect(StreamID(bad) == nil, "\(bad)")
        }
        #expect(StreamID("5-10")! > StreamID("5-9")!)
        #expect(StreamID("6-0")! > StreamID("5-99")!)
        #expect(StreamID(milliseconds: 7, sequence: 1).description == "7-1")
        #expect(StreamID.zero.description == "0-0")
    }
}

@Suite struct StreamEntryTests {
    static func entry(_ id: String, _ pairs: [String]?) -> RedisReply {
        .array([.bulk(Array(id.utf8)), pairs.map { .array($0.map { .bulk(Array($0.utf8)) }) } ?? .null])
    }

    @Test func rangeAnswer() {
        let reply = RedisReply.array([Self.entry("1-0", ["id", "a", "json", "{}"]), Self.entry("2-0", nil)])
        #expect(StreamEntry.list(reply) == [
            StreamEntry(id: "1-0", fields: ["id": Array("a".utf8), "json": Array("{}".utf8)]),
            StreamEntry(id: "2-0", fields: nil),
        ])
        #expect(StreamEntry.list(.array([])) == [])
        #expect(StreamEntry.list(.integer(3)) == nil)
        #expect(StreamEntry.list(.array([.array([.bulk(Array("1-0".utf8))])])) == nil)
        #expect(StreamEntry.list(.array([Self.entry("1-0", ["odd"])])) == nil)
    }

    @Test func readAnswerPicksTheStream() {
        let reply = RedisReply.array([
            .array([.bulk(Array("other".utf8)), .array([Self.entry("9-0", ["x", "y"])])]),
            .array([.bulk(Array("mt:events".utf8)), .array([Self.entry("1-0", ["id", "a"])])]),
        ])
        #expect(StreamEntry.read(reply, stream: "mt:events") == [StreamEntry(id: "1-0", fields: ["id": Array("a".utf8)])])
        #expect(StreamEntry.read(.null, stream: "mt:events") == [])
        #expect(StreamEntry.read(.status("OK"), stream: "mt:events") == nil)
        #expect(StreamEntry(id: "1-5", fields: nil).streamID == StreamID(milliseconds: 1, sequence: 5))
        #expect(StreamEntry(id: "1-5", fields: ["a": [1]])["a"] == [1])
    }

    @Test func autoclaimAnswer() {
        let reply = RedisReply.array([.bulk(Array("0-0".utf8)), .array([Self.entry("3-0", ["json", "{}"])]), .array([])])
        let parsed = StreamEntry.autoclaim(reply)
        #expect(parsed?.next == "0-0")
        #expect(parsed?.entries == [StreamEntry(id: "3-0", fields: ["json": Array("{}".utf8)])])
        #expect(StreamEntry.autoclaim(.array([.bulk(Array("0-0".utf8))])) == nil)
    }
}
