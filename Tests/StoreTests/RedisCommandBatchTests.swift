import Testing
@testable import Store

@Suite struct RedisCommandBatchTests {
    @Test func exactEncoding() {
        let batch = RedisCommandBatch([
            [Array("SET".utf8), Array("k".utf8), []],
            [Array("PING".utf8)],
        ])
        #expect(batch.encoded() == [
            1,  // version
            2,  // commands
            3, 3, 0x53, 0x45, 0x54, 1, 0x6B, 0,  // SET k ""
            1, 4, 0x50, 0x49, 0x4E, 0x47,  // PING
        ])
    }

    @Test func roundTripsBinaryAndLongArguments() throws {
        let long = [UInt8](repeating: 0xAB, count: 300)  // two-byte varint length
        let binary: [UInt8] = [0, 13, 10, 255, 128]
        let batch = RedisCommandBatch([[Array("HSET".utf8), binary, long, []], [Array("EXPIRE".utf8), binary, Array("60".utf8)]])
        let encoded = batch.encoded()
        #expect(Array(encoded[0...9]) == [1, 2, 4, 4, 0x48, 0x53, 0x45, 0x54, 5, 0])
        #expect(Array(encoded[14...15]) == [0xAC, 0x02])  // 300 as a varint
        #expect(try RedisCommandBatch(decoding: encoded) == batch)
        #expect(try RedisCommandBatch(decoding: RedisCommandBatch([]).encoded()) == RedisCommandBatch([]))
    }

    @Test func malformedRecordsAreTypedErrors() {
        #expect(throws: CommandBatchDecodingError.truncated) { try RedisCommandBatch(decoding: []) }
        #expect(throws: CommandBatchDecodingError.unsupportedVersion(2)) { try RedisCommandBatch(decoding: [2, 0]) }
        #expect(throws: CommandBatchDecodingError.truncated) { try RedisCommandBatch(decoding: [1, 1, 1, 4, 0x50]) }
        #expect(throws: CommandBatchDecodingError.emptyCommand) { try RedisCommandBatch(decoding: [1, 1, 0]) }
        #expect(throws: CommandBatchDecodingError.trailingBytes) { try RedisCommandBatch(decoding: [1, 0, 7]) }
        #expect(throws: CommandBatchDecodingError.malformedLength) {
            try RedisCommandBatch(decoding: [1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        }
        #expect(throws: CommandBatchDecodingError.malformedLength) {
            try RedisCommandBatch(decoding: [1] + [UInt8](repeating: 0x80, count: 10) + [1])
        }
    }
}
