import Foundation
import Store
import Testing

@Suite struct NamedThreadTests {
    /// The name the kernel shows for the calling thread.
    private static func kernelName() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8) else { return nil }
        return String(text.prefix { $0 != "\n" })
    }

    /// MailTrail's thread names, the longest at the 15 bytes Linux keeps.
    @Test(arguments: ["mt-events", "mt-spool-replay", "libmilter"])
    func theKernelShowsTheName(_ name: String) {
        let seen = LockedBox<String?>(nil)
        let done = DispatchSemaphore(value: 0)
        NamedThread.start(name) {
            let shown = Self.kernelName()
            seen.mutate { $0 = shown }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(seen.value == name)
    }
}
