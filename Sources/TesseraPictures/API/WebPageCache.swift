import TesseraEvents
import TesseraSupport

/// The page as served: rendered and compressed on the first `GET /`, not at start-up, then kept.
final class WebPageCache {
    let maxUploadBytes: Int

    init(maxUploadBytes: Int) { self.maxUploadBytes = maxUploadBytes }

    private(set) lazy var bytes: [UInt8] = Array(
        WebPage.template.replacingOccurrences(of: "__MAX_UPLOAD_BYTES__", with: String(maxUploadBytes)).utf8)

    private(set) lazy var gzipped: [UInt8]? = Gzip.compress(bytes, level: 9)

    var response: APIGatewayResponse {
        APIGatewayResponse(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            // Revalidated each time, so a new deployment's page shows at once.
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
        ], body: bytes)
    }
}

private extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
