import Testing
import Store

@Suite struct SpoolRecordCodingTests {
    enum Failure: SpoolRecordDecodingError, Equatable {
        case truncated
        case malformedLength
    }

    @Test func writesAndReadsEveryKindOfValue() throws {
        var out: [UInt8] = []
        SpoolRecordWriter.appendVarint(0, to: &out)
        SpoolRecordWriter.appendVarint(300, to: &out)
        SpoolRecordWriter.appendVarint(UInt64.max >> 1, to: &out)
        SpoolRecordWriter.appendFixed64(0x0102_0304_0506_0708, to: &out)
        SpoolRecordWriter.appendField("é!".utf8, to: &out)
        SpoolRecordWriter.appendField([UInt8](), to: &out)
        #expect(Array(out[0...2]) == [0, 0xAC, 0x02])
        #expect(Array(out[12...19]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Array(out[20...]) == [3, 0xC3, 0xA9, 0x21, 0])

        var reader = SpoolRecordReader<Failure>(bytes: out)
        #expect(try reader.count() == 0)
        #expect(reader.atEnd == false)
        // 300 is more than the record's 25 bytes: as a count it is refused, as a varint read.
        var asCount = reader
        #expect(throws: Failure.malformedLength) { try asCount.count() }
        #expect(try reader.varint() == 300)
        #expect(try reader.varint() == UInt64.max >> 1)
        #expect(try reader.fixed64() == 0x0102_0304_0506_0708)
        #expect(try reader.field() == Array("é!".utf8))
        #expect(try reader.field() == [])
        #expect(reader.atEnd)
        #expect(throws: Failure.truncated) { try reader.byte() }
    }

    @Test func aRecordEndingInsideAValueIsTruncated() {
        var varint = SpoolRecordReader<Failure>(bytes: [0x80, 0x80])
        #expect(throws: Failure.truncated) { try varint.varint() }
        var fixed = SpoolRecordReader<Failure>(bytes: [1, 2, 3])
        #expect(throws: Failure.truncated) { try fixed.fixed64() }
        var field = SpoolRecordReader<Failure>(bytes: [3, 0x61, 0x62])
        #expect(throws: Failure.truncated) { try field.field() }
    }

    @Test func aVarintOver63BitsIsMalformed() {
        var reader = SpoolRecordReader<Failure>(bytes: [UInt8](repeating: 0xFF, count: 9) + [1])
        #expect(throws: Failure.malformedLength) { try reader.varint() }
    }
}
