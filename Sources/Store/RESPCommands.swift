/// Redis commands already in the wire format (RESP: an array of bulk strings per command),
/// appended one argument at a time to a single byte buffer, for
/// ``RedisConnection/pipeline(_:)-(RESPCommands)``.
///
/// A ``RedisCommand`` is an array of byte arrays, which hiredis then formats again; a batch of
/// a few hundred commands built that way costs a few allocations per argument. Here every
/// command of a pipeline lands in one growing buffer, and what hiredis sends is that buffer.
///
/// Each command starts with ``begin(_:)``, which states its argument count; exactly that many
/// `argument` calls must follow before the next command (checked in debug builds).
public struct RESPCommands: Sendable {
    /// The commands in RESP, ready to be written to the socket.
    public private(set) var bytes: [UInt8] = []
    /// Number of commands begun (each gets one reply).
    public private(set) var count = 0
    /// Arguments the current command still expects.
    private var argumentsLeft = 0

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// True when no command was begun.
    public var isEmpty: Bool { count == 0 }

    /// Starts a command of `arguments` arguments, its name included (`*<n>\r\n`).
    public mutating func begin(_ arguments: Int) {
        assert(argumentsLeft == 0, "the previous command lacks \(argumentsLeft) arguments")
        precondition(arguments > 0, "a Redis command needs at least its name")
        bytes.append(UInt8(ascii: "*"))
        appendDecimal(arguments)
        appendCRLF()
        argumentsLeft = arguments
        count += 1
    }

    /// One binary-safe argument (`$<length>\r\n<bytes>\r\n`).
    public mutating func argument(_ value: UnsafeRawBufferPointer) {
        header(length: value.count)
        bytes.append(contentsOf: value)
        appendCRLF()
    }

    /// One binary-safe argument.
    public mutating func argument(_ value: [UInt8]) {
        value.withUnsafeBytes { argument($0) }
    }

    /// One argument: the UTF-8 bytes of `text`.
    public mutating func argument(_ text: String) {
        var text = text
        text.withUTF8 { argument(UnsafeRawBufferPointer($0)) }
    }

    /// One argument: `number` in decimal.
    public mutating func argument(_ number: Int) {
        header(length: Self.decimalLength(number))
        appendDecimal(number)
        appendCRLF()
    }

    /// One argument whose bytes `write` appends to the buffer it is given; `length` must be
    /// exactly the number of bytes it appends (checked).
    public mutating func argument(length: Int, _ write: (inout [UInt8]) -> Void) {
        header(length: length)
        let start = bytes.count
        write(&bytes)
        precondition(bytes.count - start == length, "argument announced as \(length) bytes, \(bytes.count - start) written")
        appendCRLF()
    }

    /// Arguments encoded once, to start many commands alike (the fixed head of every `XADD`
    /// of a batch, say): ``arguments(_:)`` appends their bytes as they are.
    public struct Prepared: Sendable {
        fileprivate var commands = RESPCommands()
        /// Number of arguments.
        public var count: Int { commands.preparedCount }

        public init(_ arguments: [[UInt8]]) {
            commands.argumentsLeft = arguments.count
            for argument in arguments { commands.argument(argument) }
            commands.preparedCount = arguments.count
        }
    }

    /// Number of arguments in a ``Prepared`` (its commands count stays 0).
    private var preparedCount = 0

    /// Appends prepared arguments to the current command.
    public mutating func arguments(_ prepared: Prepared) {
        assert(argumentsLeft >= prepared.count, "more arguments than the command was begun with")
        argumentsLeft -= prepared.count
        bytes.append(contentsOf: prepared.commands.bytes)
    }

    /// A command given as arguments, in one call.
    public mutating func command(_ arguments: RedisCommand) {
        begin(arguments.count)
        for argument in arguments { self.argument(argument) }
    }

    /// Appends the commands of `other`, which must be complete.
    public mutating func append(_ other: RESPCommands) {
        assert(argumentsLeft == 0 && other.argumentsLeft == 0, "appending around an incomplete command")
        bytes.append(contentsOf: other.bytes)
        count += other.count
    }

    private mutating func header(length: Int) {
        assert(argumentsLeft > 0, "an argument outside a command (begin it first)")
        argumentsLeft -= 1
        bytes.append(UInt8(ascii: "$"))
        appendDecimal(length)
        appendCRLF()
    }

    private mutating func appendCRLF() {
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// `number` in decimal: digits formed from the last in a small buffer, appended at once.
    private mutating func appendDecimal(_ number: Int) {
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var rest = number.magnitude
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in  // UInt.max has 20
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Number of characters of `number` in decimal, sign included.
    static func decimalLength(_ number: Int) -> Int {
        digitCount(number.magnitude) + (number < 0 ? 1 : 0)
    }

    private static func digitCount(_ value: UInt) -> Int {
        var rest = value
        var count = 1
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}
