import CHiredis
import CHiredisShapes
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking connection to one Redis server over hiredis, with bounded waits.
///
/// **Not thread-safe, by design**: a hiredis context must not be shared between threads.
/// Give each thread its own connection, or serialise access (``DurableRedisWriter`` keeps
/// a small pool). Instances may move between threads as long as one thread uses them at a time.
///
/// Connecting is lazy: the first call connects with `redisConnectWithTimeout`, applies
/// `redisSetTimeout` (hiredis 0.14 bounds only the connect otherwise), then sends `AUTH`
/// and `SELECT` when configured. After a timeout or I/O error hiredis' context is dead: it is
/// freed at once and the next call builds a fresh one, timeouts included (`redisReconnect`
/// is not used because it drops the I/O timeout). A connection the server closed while
/// idle (restart, `CLIENT KILL`, idle timeout) is detected before sending, so the command
/// goes out on a new connection instead of failing.
public final class RedisConnection {
    public let endpoint: RedisEndpoint
    private var context: UnsafeMutablePointer<redisContext>?

    /// Creates an unconnected connection; nothing happens on the network until the first call.
    public init(endpoint: RedisEndpoint = RedisEndpoint()) {
        self.endpoint = endpoint
    }

    deinit {
        disconnect()
    }

    /// True while a live hiredis context is held (it may still turn out dead on the next call).
    public var isConnected: Bool { context != nil }

    /// Connects now (connect, timeouts, AUTH, SELECT) unless already connected.
    public func connect() throws(RedisError) {
        if let context, !Self.peerHasClosed(context) { return }
        disconnect()
        try open()
    }

    /// Drops the connection; the next call reconnects.
    public func disconnect() {
        if let context {
            redisFree(context)
            self.context = nil
        }
    }

    /// Sends one command and waits for its reply.
    ///
    /// An error reply is thrown as ``RedisError/server(endpoint:message:)`` (or
    /// ``RedisError/authRequired(endpoint:)`` for `NOAUTH`); the connection stays usable.
    public func command(_ arguments: RedisCommand) throws(RedisError) -> RedisReply {
        precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        try connect()
        let reply = try roundTrip(arguments)
        if case .error(let message) = reply {
            if message.hasPrefix("NOAUTH") { throw .authRequired(endpoint: endpoint.description) }
            throw .server(endpoint: endpoint.description, message: message)
        }
        return reply
    }

    /// Sends one command given as text arguments.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try command(RedisCommand(redisArguments: arguments))
    }

    /// Sends all commands in one write and reads all replies (one round trip).
    ///
    /// Error replies are returned in place (`.error`), not thrown, because the other
    /// commands did run. A connection failure throws; how many commands ran is then unknown.
    public func pipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisReply] {
        if commands.isEmpty { return [] }
        for arguments in commands {
            precondition(!arguments.isEmpty, "a Redis command needs at least its name")
        }
        try connect()
        guard let context else { throw .io(endpoint: endpoint.description, detail: "not connected") }
        for arguments in commands {
            // Appending only formats into hiredis' output buffer: no I/O, no SIGPIPE.
            let status = Self.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            if status != REDIS_OK { throw fail(context) }
        }
        // One guard for the whole exchange (the first redisGetReply writes the buffer).
        return try readReplies(commands.count, context: context)
    }

    /// Sends commands already in the wire format (``RESPCommands``) in one write and reads
    /// one reply per command: ``pipeline(_:)-([RedisCommand])`` without formatting each
    /// argument again. Replies and failures as there.
    public func pipeline(_ commands: RESPCommands) throws(RedisError) -> [RedisReply] {
        if commands.isEmpty { return [] }
        let context = try append(commands)
        return try readReplies(commands.count, context: context)
    }

    /// ``pipeline(_:)-(RESPCommands)`` for replies that are only checked for errors: each is
    /// read as its ``RedisReplyShape``, without copying strings or building objects for them.
    public func pipelineShapes(_ commands: RESPCommands) throws(RedisError) -> [RedisReplyShape] {
        if commands.isEmpty { return [] }
        let context = try append(commands)
        // The reader builds shapes until every reply is in. On failure the context is freed
        // with the shape functions still set, so a partial reply is freed as what it is.
        let previous = mt_reply_shape_begin(context.pointee.reader)
        let replies = try readReplies(count: commands.count, context: context, free: mt_reply_shape_free) {
            Self.shape($0.assumingMemoryBound(to: mt_reply_shape.self))
        }
        mt_reply_shape_restore(context.pointee.reader, previous)
        return replies
    }

    // MARK: - Internals

    /// Connects if need be and puts `commands` in hiredis' output buffer (no I/O yet).
    private func append(_ commands: RESPCommands) throws(RedisError) -> UnsafeMutablePointer<redisContext> {
        try connect()
        guard let context else { throw .io(endpoint: endpoint.description, detail: "not connected") }
        let status = commands.bytes.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                redisAppendFormattedCommand(context, $0, bytes.count)
            }
        }
        if status != REDIS_OK { throw fail(context) }
        return context
    }

    /// Reads `count` replies, writing hiredis' output buffer first, under one SIGPIPE guard.
    private func readReplies(_ count: Int, context: UnsafeMutablePointer<redisContext>) throws(RedisError) -> [RedisReply] {
        try readReplies(count: count, context: context, free: freeReplyObject) {
            Self.convert($0.assumingMemoryBound(to: redisReply.self))
        }
    }

    /// Reads `count` replies, each turned into a value by `convert` and then released by `free`.
    private func readReplies<Reply>(
        count: Int, context: UnsafeMutablePointer<redisContext>,
        free: (UnsafeMutableRawPointer?) -> Void, convert: (UnsafeMutableRawPointer) -> Reply
    ) throws(RedisError) -> [Reply] {
        let outcome: Result<[Reply], RedisError> = SIGPIPEGuard.run {
            var replies: [Reply] = []
            replies.reserveCapacity(count)
            for _ in 0..<count {
                var raw: UnsafeMutableRawPointer?
                let status = redisGetReply(context, &raw)
                guard status == REDIS_OK, let raw else { return .failure(fail(context)) }
                replies.append(convert(raw))
                free(raw)
            }
            return .success(replies)
        }
        return try outcome.get()
    }

    /// The size of `sockaddr_un.sun_path`, its terminating NUL included.
    static let maxSocketPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    private func open() throws(RedisError) {
        let name = endpoint.description
        let timeout = Self.makeTimeval(endpoint.connectTimeout)
        let created: UnsafeMutablePointer<redisContext>?
        if let path = endpoint.unixSocketPath {
            // hiredis would cut a longer path to fit `sockaddr_un` and connect elsewhere.
            guard path.utf8.count < Self.maxSocketPathLength else {
                throw .connectFailed(endpoint: name, detail: "the socket path is longer than \(Self.maxSocketPathLength - 1) bytes")
            }
            created = path.withCString { redisConnectUnixWithTimeout($0, timeout) }
        } else {
            guard (1...65535).contains(endpoint.port) else {
                throw .connectFailed(endpoint: name, detail: "port \(endpoint.port) is out of range")
            }
            created = endpoint.host.withCString { redisConnectWithTimeout($0, Int32(endpoint.port), timeout) }
        }
        guard let created else { throw .connectFailed(endpoint: name, detail: "out of memory") }
        if created.pointee.err != 0 {
            let detail = Self.errorString(created)
            redisFree(created)
            if detail == Self.systemMessage(ECONNREFUSED) { throw .connectRefused(endpoint: name) }
            if detail == Self.systemMessage(ETIMEDOUT) { throw .connectTimeout(endpoint: name) }
            throw .connectFailed(endpoint: name, detail: detail)
        }
        if redisSetTimeout(created, Self.makeTimeval(endpoint.ioTimeout)) != REDIS_OK {
            let detail = Self.errorString(created)
            redisFree(created)
            throw .io(endpoint: name, detail: "cannot set the I/O timeout: \(detail)")
        }
        context = created

        if let password = endpoint.password {
            let reply = try roundTrip([Array("AUTH".utf8), Array(password.utf8)])
            if case .error(let message) = reply {
                disconnect()
                throw .authFailed(endpoint: name, serverMessage: message)
            }
        }
        if endpoint.db != 0 {
            let reply = try roundTrip([Array("SELECT".utf8), Array(String(endpoint.db).utf8)])
            if case .error(let message) = reply {
                disconnect()
                if message.hasPrefix("NOAUTH") { throw .authRequired(endpoint: name) }
                throw .selectFailed(endpoint: name, db: endpoint.db, serverMessage: message)
            }
        }
    }

    /// One command on the current context; on failure the context is freed.
    private func roundTrip(_ arguments: RedisCommand) throws(RedisError) -> RedisReply {
        guard let context else { throw .io(endpoint: endpoint.description, detail: "not connected") }
        let raw = SIGPIPEGuard.run {
            Self.withArgv(arguments) { argc, argv, lengths in
                redisCommandArgv(context, argc, argv, lengths)
            }
        }
        guard let raw else { throw fail(context) }
        let reply = Self.convert(raw.assumingMemoryBound(to: redisReply.self))
        freeReplyObject(raw)
        return reply
    }

    /// Maps hiredis' error state to a ``RedisError`` and frees the (now dead) context.
    private func fail(_ failed: UnsafeMutablePointer<redisContext>) -> RedisError {
        let name = endpoint.description
        let detail = Self.errorString(failed)
        let error: RedisError
        switch failed.pointee.err {
        case REDIS_ERR_IO:
            // hiredis renders errno with strerror: SO_RCVTIMEO/SO_SNDTIMEO expiry is EAGAIN.
            if detail == Self.systemMessage(EAGAIN) || detail == Self.systemMessage(ETIMEDOUT) {
                error = .timeout(endpoint: name)
            } else {
                error = .io(endpoint: name, detail: detail)
            }
        case REDIS_ERR_PROTOCOL:
            error = .protocolError(endpoint: name, detail: detail)
        case REDIS_ERR_EOF:
            error = .io(endpoint: name, detail: detail.isEmpty ? "server closed the connection" : detail)
        default:
            error = .io(endpoint: name, detail: detail.isEmpty ? "unknown hiredis error" : detail)
        }
        if failed == context { context = nil }
        redisFree(failed)
        return error
    }

    /// An idle Redis connection never has anything to read (no pub/sub here): readability
    /// or an error condition means the server closed it.
    private static func peerHasClosed(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) > 0
    }

    /// Passes a command to hiredis as argc/argv/argvlen, binary-safe, from one contiguous buffer.
    private static func withArgv<R>(
        _ arguments: RedisCommand,
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        var storage: [UInt8] = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        offsets.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(storage.count)
            storage.append(contentsOf: argument)
        }
        storage.append(0)  // never empty, so the base address exists even for empty arguments
        let lengths = arguments.map { $0.count }  // a closure: a key path here is resolved at run time, per argument
        return storage.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) { base in
                var argv: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
                return argv.withUnsafeMutableBufferPointer { argvBuffer in
                    lengths.withUnsafeBufferPointer { lengthBuffer in
                        body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
                    }
                }
            }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STATUS:
            return .status(text(node.str, node.len))
        case REDIS_REPLY_ERROR:
            return .error(text(node.str, node.len))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(node.integer))
        case REDIS_REPLY_STRING:
            return .bulk(bytes(node.str, node.len))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                if let element = node.element[index] { elements.append(convert(element)) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func shape(_ reply: UnsafeMutablePointer<mt_reply_shape>) -> RedisReplyShape {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STATUS: return .status
        case REDIS_REPLY_STRING: return .string
        case REDIS_REPLY_INTEGER: return .integer
        case REDIS_REPLY_ERROR: return .error(text(node.str, node.len))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReplyShape] = []
            elements.reserveCapacity(node.elements)
            for index in 0..<node.elements {
                if let element = node.element[index] { elements.append(shape(element)) }
            }
            return .array(elements)
        default: return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// Decoded in place: the `QUEUED` and `OK` of a transaction (one per command) allocate nothing.
    private static func text(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let limit = raw.firstIndex(of: 0) ?? raw.count
            return String(decoding: raw[..<limit], as: UTF8.self)
        }
    }

    private static func systemMessage(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// A timeval for hiredis, at least 1 ms (a zero timeval would mean "no limit" to setsockopt).
    private static func makeTimeval(_ duration: Duration) -> timeval {
        let (seconds, attoseconds) = duration.components
        let microseconds = attoseconds / 1_000_000_000_000
        if seconds <= 0 && microseconds < 1_000 {
            return timeval(tv_sec: 0, tv_usec: 1_000)
        }
        return timeval(tv_sec: Int(seconds), tv_usec: Int(microseconds))
    }
}
