import NIOPosix
import Rewrite
import Testing
@testable import TrackerCore

/// Each event loop's connections share one inflater, made at start.
@Suite struct LoopInflatersTests {
    @Test func everyLoopOfTheGroupHasItsOwnKeptInflater() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 3)
        defer { try? group.syncShutdownGracefully() }
        let inflaters = LoopInflaters(group: group)
        let loops = Array(group.makeIterator())
        let first = loops.map { inflaters.inflater(for: $0) }
        for (loop, inflater) in zip(loops, first) {
            #expect(inflaters.inflater(for: loop) === inflater)
        }
        #expect(Set(first.map(ObjectIdentifier.init)).count == 3)
    }
}
