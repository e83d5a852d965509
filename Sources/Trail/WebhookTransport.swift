import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One webhook POST, ready to send.
struct WebhookRequest: Sendable {
    var url: URL
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// Time limit for the whole exchange, seconds.
    var timeout: Double
}

/// What became of a webhook POST.
enum WebhookOutcome: Equatable, Sendable {
    /// A 2xx answer: the receiver has the events.
    case accepted(status: Int)
    /// Any other status (redirects are not followed: a webhook URL must answer itself).
    case refused(status: Int, body: String)
    /// No answer: connection refused or reset, timeout, TLS failure, …
    case failed(String)

    var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }

    /// One line for logs and the dead-letter `error` field.
    var summary: String {
        switch self {
        case .accepted(let status): return "HTTP \(status)"
        case .refused(let status, let body): return body.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(body)"
        case .failed(let reason): return reason
        }
    }
}

/// Sends webhook requests; the feeder is written against this so that delivery logic does
/// not depend on the HTTP stack.
protocol WebhookTransport {
    func post(_ request: WebhookRequest) -> WebhookOutcome
}

/// Webhook requests through Foundation's URLSession (libcurl on Linux: http and https with
/// the system's CA store). Each request uses a fresh connection (see `post`).
final class URLSessionTransport: WebhookTransport {
    private let session: URLSession
    private let delegate = NoRedirects()

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.httpMaximumConnectionsPerHost = 1
        session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
    }

    deinit {
        session.invalidateAndCancel()
    }

    /// At most this much of a refusal's body is kept (for the log and the dead-letter entry).
    static let bodyExcerptLimit = 200

    func post(_ request: WebhookRequest) -> WebhookOutcome {
        var urlRequest = URLRequest(url: request.url, cachePolicy: .reloadIgnoringLocalCacheData,
                                    timeoutInterval: request.timeout)
        urlRequest.httpMethod = "POST"
        for header in request.headers {
            urlRequest.setValue(header.value, forHTTPHeaderField: header.name)
        }
        urlRequest.httpBody = Data(request.body)
        // One connection per request: when a receiver closes a kept-alive connection, libcurl
        // retries on a new one, but URLSession on Linux does not rewind the body for it (the
        // retry goes out with Content-Length and no body, then hangs until the timeout).
        urlRequest.setValue("close", forHTTPHeaderField: "Connection")

        let done = DispatchSemaphore(value: 0)
        let result = OutcomeBox()
        let task = session.dataTask(with: urlRequest) { data, response, error in
            result.value = Self.outcome(data: data, response: response, error: error, timeout: request.timeout)
            done.signal()
        }
        task.resume()
        // URLSession's timeoutInterval is an idle timeout (and not always applied on Linux):
        // this bounds the whole exchange.
        if done.wait(timeout: .now() + request.timeout) == .timedOut {
            task.cancel()
            done.wait()
            return .failed(Self.timedOut(request.timeout))
        }
        return result.value ?? .failed("no outcome")
    }

    private static func outcome(data: Data?, response: URLResponse?, error: Error?, timeout: Double) -> WebhookOutcome {
        if let error {
            let nsError = error as NSError
            if nsError.domain == NSURLErrorDomain && nsError.code == NSURLErrorTimedOut {
                return .failed(timedOut(timeout))
            }
            return .failed(nsError.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { return .failed("not an HTTP response") }
        if (200...299).contains(http.statusCode) { return .accepted(status: http.statusCode) }
        let excerpt = String(decoding: (data ?? Data()).prefix(bodyExcerptLimit), as: UTF8.self)
            .map { $0.isNewline || $0 == "\t" ? " " : $0 }
        return .refused(status: http.statusCode, body: String(excerpt).trimmingCharacters(in: .whitespaces))
    }

    private static func timedOut(_ seconds: Double) -> String {
        "timed out after \(Int((seconds * 1000).rounded())) ms"
    }

    /// Holds the completion handler's result for the waiting thread (the semaphore orders the accesses).
    private final class OutcomeBox: @unchecked Sendable {
        var value: WebhookOutcome?
    }

    /// Refuses every redirect, so a 3xx comes back as the answer.
    private final class NoRedirects: NSObject, URLSessionTaskDelegate {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}
