import CMilter
import Glibc

/// The C entry points libmilter calls. Each finds the shared `Filter` and the
/// connection's `MilterSession`, and never lets a failure of MailTrail's reach the
/// mail: every path ends in `SMFIS_CONTINUE` (or `SMFIS_ACCEPT` when nothing more is
/// wanted), never in a reject or tempfail.
enum FilterCallbacks {
    /// The filter the callbacks serve. libmilter's callbacks carry no user pointer, so
    /// this is set exactly once in `main`, before `smfi_main` starts any thread, and
    /// only read afterwards.
    nonisolated(unsafe) static var filter: Filter!

    static func descriptor(name: UnsafeMutablePointer<CChar>) -> smfiDesc {
        var desc = smfiDesc()
        desc.xxfi_name = name
        desc.xxfi_version = SMFI_VERSION
        desc.xxfi_flags = ProtocolOptions.actions
        desc.xxfi_negotiate = { ctx, f0, f1, _, _, pf0, pf1, pf2, pf3 in
            FilterCallbacks.negotiate(ctx, f0, f1, pf0, pf1, pf2, pf3)
        }
        desc.xxfi_connect = { ctx, host, addr in FilterCallbacks.connect(ctx, host, addr) }
        desc.xxfi_envfrom = { ctx, argv in FilterCallbacks.envfrom(ctx, argv) }
        desc.xxfi_envrcpt = { ctx, argv in FilterCallbacks.envrcpt(ctx, argv) }
        desc.xxfi_header = { ctx, name, value in FilterCallbacks.header(ctx, name, value) }
        desc.xxfi_body = { ctx, bytes, length in FilterCallbacks.body(ctx, bytes, length) }
        desc.xxfi_eom = { ctx in FilterCallbacks.endOfMessage(ctx) }
        desc.xxfi_abort = { ctx in FilterCallbacks.abort(ctx) }
        desc.xxfi_close = { ctx in FilterCallbacks.close(ctx) }
        return desc
    }

    // MARK: - Session lookup

    private static func session(_ ctx: OpaquePointer?) -> MilterSession? {
        guard let raw = smfi_getpriv(ctx) else { return nil }
        return Unmanaged<MilterSession>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The session, created on first use when the MTA sent no connect event.
    private static func sessionCreating(_ ctx: OpaquePointer?) -> MilterSession {
        if let s = session(ctx) { return s }
        let s = MilterSession(clientAddress: symbol(ctx, "{client_addr}") ?? "")
        attach(s, to: ctx)
        return s
    }

    private static func attach(_ session: MilterSession, to ctx: OpaquePointer?) {
        filter.inFlight.sessionOpened()
        smfi_setpriv(ctx, Unmanaged.passRetained(session).toOpaque())
    }

    static func symbol(_ ctx: OpaquePointer?, _ name: String) -> String? {
        var name = Array(name.utf8CString)
        guard let value = name.withUnsafeMutableBufferPointer({ smfi_getsymval(ctx, $0.baseAddress) }) else {
            return nil
        }
        let s = String(cString: value)
        return s.isEmpty ? nil : s
    }

    // MARK: - Callbacks

    /// The first callback of a connection: asks for what `ProtocolOptions` says and creates
    /// the session, which remembers the steps that need no reply.
    static func negotiate(_ ctx: OpaquePointer?, _ offeredActions: UInt, _ offeredSteps: UInt,
                          _ actions: UnsafeMutablePointer<UInt>?, _ steps: UnsafeMutablePointer<UInt>?,
                          _ f2: UnsafeMutablePointer<UInt>?, _ f3: UnsafeMutablePointer<UInt>?) -> sfsistat {
        let wanted = filter.protocolOptions.negotiate(offeredActions: offeredActions, offeredSteps: offeredSteps)
        actions?.pointee = wanted.actions
        steps?.pointee = wanted.steps
        f2?.pointee = 0
        f3?.pointee = 0
        let s = sessionCreating(ctx)
        s.noReply = wanted.steps & ProtocolOptions.noReplySteps
        return SMFIS_CONTINUE
    }

    static func connect(_ ctx: OpaquePointer?, _ host: UnsafeMutablePointer<CChar>?,
                        _ addr: UnsafeMutablePointer<sockaddr>?) -> sfsistat {
        let s = sessionCreating(ctx)
        s.clientHostname = host.map { String(cString: $0) } ?? ""
        s.clientAddress = addr.flatMap(SocketAddress.text) ?? symbol(ctx, "{client_addr}") ?? ""
        return s.proceed(UInt(SMFIP_NR_CONN))
    }

    static func envfrom(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
        let s = sessionCreating(ctx)
        let sender = argv?.pointee.map { String(cString: $0) } ?? ""
        let message = MessageInProgress(sender: Address.stripBrackets(sender), body: filter.makeBodyBuffer())
        message.saslUser = symbol(ctx, "{auth_authen}")
        endMessage(of: s)
        s.message = message
        filter.inFlight.messageStarted()
        return s.proceed(UInt(SMFIP_NR_MAIL))
    }

    static func envrcpt(_ ctx: OpaquePointer?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> sfsistat {
        guard let s = session(ctx) else { return SMFIS_CONTINUE }
        if let m = s.message, let rcpt = argv?.pointee {
            m.recipients.append(Address.stripBrackets(String(cString: rcpt)))
        }
        return s.proceed(UInt(SMFIP_NR_RCPT))
    }

    static func header(_ ctx: OpaquePointer?, _ name: UnsafeMutablePointer<CChar>?,
                       _ value: UnsafeMutablePointer<CChar>?) -> sfsistat {
        guard let s = session(ctx) else { return SMFIS_CONTINUE }
        if let m = s.message, let name, let value {
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self),
                                            count: strlen(value))
            m.headers.append((String(cString: name), Array(bytes)))
        }
        return s.proceed(UInt(SMFIP_NR_HDR))
    }

    static func body(_ ctx: OpaquePointer?, _ bytes: UnsafeMutablePointer<UInt8>?, _ length: Int) -> sfsistat {
        guard let s = session(ctx) else { return SMFIS_CONTINUE }
        if let m = s.message, let bytes {
            buffer(UnsafeBufferPointer(start: bytes, count: length), into: m)
        }
        return s.proceed(UInt(SMFIP_NR_BODY))
    }

    /// Keeps a body chunk, unless the message is already too large or buffering failed.
    private static func buffer(_ chunk: UnsafeBufferPointer<UInt8>, into m: MessageInProgress) {
        m.bodySize += chunk.count
        if m.tooLarge || m.bufferFailure != nil { return }
        if m.body.count + chunk.count > filter.settings.maxMessageSize {
            m.tooLarge = true
            m.body.discard()
            return
        }
        do {
            try m.body.append(chunk)
        } catch {
            m.bufferFailure = "\(error)"
            m.body.discard()
        }
    }

    static func endOfMessage(_ ctx: OpaquePointer?) -> sfsistat {
        guard let s = session(ctx), let m = s.message else { return SMFIS_CONTINUE }
        defer { endMessage(of: s) }
        filter.finish(m, session: s, milter: MilterContext(ctx: ctx))
        return SMFIS_CONTINUE
    }

    static func abort(_ ctx: OpaquePointer?) -> sfsistat {
        if let s = session(ctx) { endMessage(of: s) }
        return SMFIS_CONTINUE
    }

    /// Forgets the session's message in progress, if any (end of message, abort, a new
    /// MAIL FROM without either, or the connection closing mid-message).
    private static func endMessage(of session: MilterSession) {
        guard session.message != nil else { return }
        session.message = nil
        filter.inFlight.messageEnded()
    }

    static func close(_ ctx: OpaquePointer?) -> sfsistat {
        release(ctx)
        return SMFIS_CONTINUE
    }

    private static func release(_ ctx: OpaquePointer?) {
        // xxfi_close can arrive without a connect: priv is then NULL.
        guard let raw = smfi_getpriv(ctx) else { return }
        smfi_setpriv(ctx, nil)
        let session = Unmanaged<MilterSession>.fromOpaque(raw).takeRetainedValue()
        endMessage(of: session)
        filter.inFlight.sessionClosed()
    }
}
