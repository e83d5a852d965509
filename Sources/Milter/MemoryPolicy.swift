import Glibc

/// glibc malloc settings for a long-running filter that handles bodies of many megabytes on
/// a pool of worker threads.
///
/// By default glibc raises its mmap threshold to the size of the last large block freed
/// (up to 32 MiB), so after the first big message every later body buffer comes from a
/// per-thread arena, and each worker thread's arena keeps its high-water mark: the
/// process's resident memory ends up as the sum of every thread's largest message. A fixed
/// threshold keeps large buffers in their own mappings, returned to the system when freed;
/// fewer arenas bound what the many small allocations can hold on to.
///
/// The trim threshold is raised from 128 KiB: a message's buffers and the rewrite's
/// intermediates (tens of KiB each) otherwise leave more than that free at the top of an
/// arena after almost every message, and glibc hands it back with `madvise` (a TLB flush on
/// every CPU) only to fault it in again for the next message. At most `trimThreshold` per
/// arena stays resident: 4 MiB in all.
///
/// `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not include: it is
/// looked up at run time (a libc without it, e.g. musl, simply keeps its defaults).
enum MemoryPolicy {
    static let mmapThreshold: Int32 = 256 << 10
    static let arenas: Int32 = 4
    static let trimThreshold: Int32 = 1 << 20
    // <malloc.h>
    private static let M_TRIM_THRESHOLD: Int32 = -1
    private static let M_MMAP_THRESHOLD: Int32 = -3
    private static let M_ARENA_MAX: Int32 = -8

    static func apply() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold)
        _ = mallopt(M_ARENA_MAX, arenas)
        _ = mallopt(M_TRIM_THRESHOLD, trimThreshold)
    }
}
