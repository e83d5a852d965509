import Testing
@testable import Store

@Suite struct RESPCommandsTests {
    static func text(_ commands: RESPCommands) -> String {
        String(decoding: commands.bytes, as: UTF8.self)
    }

    @Test func commandsAreArraysOfBulkStrings() {
        var commands = RESPCommands()
        #expect(commands.isEmpty)
        commands.begin(3)
        commands.argument("SET")
        commands.argument(Array("key".utf8))
        commands.argument(-1205)
        commands.begin(1)
        commands.argument("")
        #expect(commands.count == 2)
        #expect(Self.text(commands) == "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\n-1205\r\n*1\r\n$0\r\n\r\n")
    }

    @Test func numbersAreDecimal() {
        for (number, text) in [(0, "0"), (7, "7"), (10, "10"), (99, "99"), (1_000_000, "1000000"),
                               (-9, "-9"), (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808")] {
            var commands = RESPCommands()
            commands.begin(1)
            commands.argument(number)
            #expect(Self.text(commands) == "*1\r\n$\(text.utf8.count)\r\n\(text)\r\n")
            #expect(RESPCommands.decimalLength(number) == text.utf8.count)
        }
    }

    @Test func argumentsAreBinarySafe() {
        var commands = RESPCommands()
        commands.begin(1)
        commands.argument([0x00, 0x0D, 0x0A, 0xFF])
        #expect(commands.bytes == Array("*1\r\n$4\r\n".utf8) + [0x00, 0x0D, 0x0A, 0xFF, 0x0D, 0x0A])
    }

    @Test func writtenArgumentsAndAppendedBatches() {
        var head = RESPCommands()
        head.begin(2)
        head.argument("ECHO")
        head.argument(length: 5) { $0.append(contentsOf: "hello".utf8) }
        var tail = RESPCommands()
        tail.command([Array("PING".utf8)])
        head.append(tail)
        #expect(head.count == 2)
        #expect(Self.text(head) == "*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n")
    }

    @Test func preparedArgumentsStartCommandsAlike() {
        let head = RESPCommands.Prepared([Array("XADD".utf8), Array("s".utf8), Array("*".utf8)])
        #expect(head.count == 3)
        var commands = RESPCommands()
        for id in ["1", "22"] {
            commands.begin(head.count + 1)
            commands.arguments(head)
            commands.argument(id)
        }
        #expect(commands.count == 2)
        #expect(Self.text(commands) == "*4\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$1\r\n1\r\n"
                + "*4\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$2\r\n22\r\n")
    }

    @Test func sameBytesAsHiredisFormatsFromArgv() {
        // redisFormatCommandArgv's output for these arguments, as hiredis writes it.
        var commands = RESPCommands()
        commands.command([Array("XADD".utf8), Array("mt:events".utf8), Array("*".utf8), Array("id".utf8), Array("é".utf8)])
        #expect(Self.text(commands) == "*5\r\n$4\r\nXADD\r\n$9\r\nmt:events\r\n$1\r\n*\r\n$2\r\nid\r\n$2\r\né\r\n")
    }
}
