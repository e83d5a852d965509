import Foundation

/// Concurrent keep-alive clients that pipeline requests and check every answer's status.
enum LoadGenerator {
    struct Request {
        var path: String
        var status: Int
    }

    /// Results of several client threads, added up under a lock.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var total = Result()

        func add(_ result: Result) {
            lock.lock()
            total.succeeded += result.succeeded
            total.failed += result.failed
            lock.unlock()
        }

        var result: Result {
            lock.lock()
            defer { lock.unlock() }
            return total
        }
    }

    struct Result {
        /// Answers with the expected status.
        var succeeded = 0
        /// Answers with another status, or requests whose answer never came.
        var failed = 0
    }

    /// Sends every request once, spread over `connections` connections, `depth` in flight on each.
    static func run(port: Int, requests: [Request], connections: Int, depth: Int) -> Result {
        let tally = Tally()
        let group = DispatchGroup()
        for slot in 0..<connections {
            let share = stride(from: slot, to: requests.count, by: connections).map { requests[$0] }
            group.enter()
            Thread {
                tally.add(send(share, port: port, depth: depth))
                group.leave()
            }.start()
        }
        group.wait()
        return tally.result
    }

    /// Sends `requests` round-robin, over and over, until `deadline`, on `connections` connections.
    static func run(port: Int, cycling requests: [Request], connections: Int, depth: Int, until deadline: Date) -> Result {
        let tally = Tally()
        let group = DispatchGroup()
        for slot in 0..<connections {
            group.enter()
            Thread {
                var result = Result()
                var next = slot
                var connection = try? RawHTTPConnection(port: port, timeout: 30)
                while Date() < deadline {
                    let chunk = (0..<depth).map { requests[(next + $0 * connections) % requests.count] }
                    next += depth * connections
                    guard let open = connection else {
                        result.failed += chunk.count
                        connection = try? RawHTTPConnection(port: port, timeout: 30)
                        continue
                    }
                    let part = send(chunk, on: open, depth: depth)
                    result.succeeded += part.succeeded
                    result.failed += part.failed
                    if part.failed > 0 { connection = try? RawHTTPConnection(port: port, timeout: 30) }
                }
                tally.add(result)
                group.leave()
            }.start()
        }
        group.wait()
        return tally.result
    }

    private static func send(_ requests: [Request], port: Int, depth: Int) -> Result {
        guard let connection = try? RawHTTPConnection(port: port, timeout: 30) else {
            return Result(succeeded: 0, failed: requests.count)
        }
        return send(requests, on: connection, depth: depth)
    }

    private static func send(_ requests: [Request], on connection: RawHTTPConnection, depth: Int) -> Result {
        var result = Result()
        var index = 0
        while index < requests.count {
            let window = requests[index..<min(index + depth, requests.count)]
            let text = window.map { RawHTTPConnection.request($0.path) }.joined()
            guard (try? connection.send(text)) != nil else {
                result.failed += requests.count - index
                return result
            }
            for request in window {
                guard let response = try? connection.readResponse() else {
                    result.failed += requests.count - index
                    return result
                }
                if response.status == request.status { result.succeeded += 1 } else { result.failed += 1 }
                index += 1
            }
        }
        return result
    }
}
