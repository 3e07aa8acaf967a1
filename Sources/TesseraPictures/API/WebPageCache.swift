import TesseraEvents
import TesseraSupport

/// The page as served: rendered and compressed on the first `GET /`, not at start-up, then kept.
final class WebPageCache {
    let maxUploadBytes: Int
    /// Where the page may load images from (renditions) and post to (originals): the buckets' origins.
    let imageOrigin: String, uploadOrigin: String
    /// The user pool the page signs in against (checked at start-up: an origin and an id of letters and digits).
    let signIn: PictureAPIConfig.SignIn?

    init(maxUploadBytes: Int, imageOrigin: String, uploadOrigin: String, signIn: PictureAPIConfig.SignIn?) {
        self.maxUploadBytes = maxUploadBytes
        self.imageOrigin = imageOrigin
        self.uploadOrigin = uploadOrigin
        self.signIn = signIn
    }

    /// Only the page's own script and style run (by hash: a name shown in the page can never become
    /// code), images come from the renditions bucket, uploads go to the originals bucket, sign-ins to
    /// the user pool. The hashes are the inlined files' own, computed when web/ was embedded (build time).
    private(set) lazy var contentSecurityPolicy: String =
        "default-src 'none'; script-src \(WebPage.scriptHash); style-src \(WebPage.styleHash); "
            + "img-src \(imageOrigin) data:; connect-src 'self' \(uploadOrigin)\(signIn.map { " " + $0.endpoint } ?? ""); "
            + "base-uri 'none'; form-action 'none'; "
            + "frame-ancestors 'none'"

    private(set) lazy var bytes: [UInt8] = Array(
        WebPage.template.replacingAll("__MAX_UPLOAD_BYTES__", with: String(maxUploadBytes))
            .replacingAll("__AUTH_ENDPOINT__", with: signIn?.endpoint ?? "")
            .replacingAll("__AUTH_CLIENT__", with: signIn?.clientId ?? "").utf8)

    private(set) lazy var gzipped: [UInt8]? = Gzip.compress(bytes, level: 9)

    var response: APIGatewayResponse {
        APIGatewayResponse(status: 200, headers: [
            ("Content-Type", "text/html; charset=utf-8"),
            // Revalidated each time, so a new deployment's page shows at once.
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Frame-Options", "DENY"),
            ("Content-Security-Policy", contentSecurityPolicy),
        ], body: bytes)
    }
}
