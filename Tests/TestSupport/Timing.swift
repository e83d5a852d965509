import Foundation
import Store
import Testing

/// Runs `body`, returning the RedisError it threw (nil if none) and how long it took in seconds.
public func timedFailure<T>(_ body: () throws -> T) -> (error: RedisError?, seconds: Double) {
    var failure: RedisError?
    let seconds = elapsed {
        do {
            _ = try body()
        } catch let error as RedisError {
            failure = error
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
    return (failure, seconds)
}

/// Wall-clock duration of `body`, in seconds.
public func elapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
