import CMilter
import Glibc

/// The message modifications libmilter allows at end of message, with Swift types and
/// the failures turned into errors.
struct MilterContext {
    let ctx: OpaquePointer?

    struct Failure: Error, CustomStringConvertible {
        var call: String
        var description: String { "\(call) failed (connection to the MTA lost?)" }
    }

    /// Postfix's queue id (the `{i}` macro), known from DATA on.
    var queueID: String? { FilterCallbacks.symbol(ctx, "i") }

    /// Inserts a header right below the MTA's own `Received` header (`smfi_insheader`
    /// index 1, where opendkim puts its signature too).
    func insertHeader(_ name: String, _ value: String) throws(Failure) {
        var n = Array(name.utf8CString), v = Array(value.utf8CString)
        let rc = n.withUnsafeMutableBufferPointer { np in
            v.withUnsafeMutableBufferPointer { vp in smfi_insheader(ctx, 1, np.baseAddress, vp.baseAddress) }
        }
        guard rc == MI_SUCCESS else { throw Failure(call: "smfi_insheader(\(name))") }
    }

    /// Appends a header at the end of the header block (`smfi_addheader`).
    func addHeader(_ name: String, _ value: String) throws(Failure) {
        var n = Array(name.utf8CString), v = Array(value.utf8CString)
        let rc = n.withUnsafeMutableBufferPointer { np in
            v.withUnsafeMutableBufferPointer { vp in smfi_addheader(ctx, np.baseAddress, vp.baseAddress) }
        }
        guard rc == MI_SUCCESS else { throw Failure(call: "smfi_addheader(\(name))") }
    }

    /// Changes (or, with nil, deletes) occurrence `index` (1-based) of header `name`.
    func changeHeader(_ name: String, index: Int, to value: String?) throws(Failure) {
        var n = Array(name.utf8CString)
        let rc: Int32
        if let value {
            var v = Array(value.utf8CString)
            rc = n.withUnsafeMutableBufferPointer { np in
                v.withUnsafeMutableBufferPointer { vp in smfi_chgheader(ctx, np.baseAddress, Int32(index), vp.baseAddress) }
            }
        } else {
            rc = n.withUnsafeMutableBufferPointer { smfi_chgheader(ctx, $0.baseAddress, Int32(index), nil) }
        }
        guard rc == MI_SUCCESS else { throw Failure(call: "smfi_chgheader(\(name))") }
    }

    /// Replaces the body; repeated calls append, so a large body goes in chunks. The default
    /// chunk is libmilter's packet limit: a larger one would be split into two packets.
    func replaceBody(_ body: [UInt8], chunkSize: Int = Int(MILTER_CHUNK_SIZE)) throws(Failure) {
        guard !body.isEmpty else {
            // An empty body still needs a valid pointer, used only inside this call.
            var empty: UInt8 = 0
            guard smfi_replacebody(ctx, &empty, 0) == MI_SUCCESS else { throw Failure(call: "smfi_replacebody") }
            return
        }
        var offset = 0
        while offset < body.count {
            let end = min(offset + chunkSize, body.count)
            let rc = body.withUnsafeBufferPointer { p in
                smfi_replacebody(ctx, UnsafeMutablePointer(mutating: p.baseAddress! + offset), Int32(end - offset))
            }
            guard rc == MI_SUCCESS else { throw Failure(call: "smfi_replacebody") }
            offset = end
        }
    }
}
