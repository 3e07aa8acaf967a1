import Glibc
import TesseraAWS
import TesseraSupport

/// picture-api's configuration, read once at start-up.
public struct PictureAPIConfig: Sendable {
    public var originalsBucket: String
    public var renditionsBucket: String
    public var picturesTable: String
    /// The largest upload a presigned form or URL allows.
    public var maxUploadBytes: Int
    public var uploadURLSeconds: Int
    public var downloadURLSeconds: Int
    /// Origins (`https://example.com`) whose browsers may call the API from another page.
    public var allowedOrigins: Set<String>
    /// The key that authenticates pagination cursors.
    public var cursorKey: [UInt8]
    public var aws: AWSConfig

    public static let defaultMaxUploadBytes = 20 * 1024 * 1024

    /// Reads `ORIGINALS_BUCKET`, `RENDITIONS_BUCKET`, `PICTURES_TABLE`, `MAX_UPLOAD_BYTES` (20 MiB),
    /// `UPLOAD_URL_SECONDS` (300), `DOWNLOAD_URL_SECONDS` (900), `ALLOWED_ORIGINS` (none),
    /// `CURSOR_SECRET` (random per process when unset) and the AWS variables.
    public static func fromEnvironment(_ env: Environment) throws -> PictureAPIConfig {
        var origins: Set<String> = []
        for origin in (env["ALLOWED_ORIGINS"] ?? "").split(separator: ",").map({ String($0).trimmingHTTPWhitespace() })
        where !origin.isEmpty {
            guard origin == "*" || isOrigin(origin) else {
                throw ConfigurationError(variable: "ALLOWED_ORIGINS", problem:
                    "must list origins like https://example.com (scheme, host, optional port, no path), got \"\(origin)\"")
            }
            origins.insert(origin.lowercased())
        }
        let secret = env["CURSOR_SECRET"]
        if let secret, secret.utf8.count < 16 {
            throw ConfigurationError(variable: "CURSOR_SECRET", problem: "must be at least 16 characters long")
        }
        return PictureAPIConfig(
            originalsBucket: try env.required("ORIGINALS_BUCKET"),
            renditionsBucket: try env.required("RENDITIONS_BUCKET"),
            picturesTable: try env.required("PICTURES_TABLE"),
            maxUploadBytes: try env.integer("MAX_UPLOAD_BYTES", default: defaultMaxUploadBytes,
                                            range: 1...5 * 1024 * 1024 * 1024),
            uploadURLSeconds: try env.integer("UPLOAD_URL_SECONDS", default: 300, range: 1...604_800),
            downloadURLSeconds: try env.integer("DOWNLOAD_URL_SECONDS", default: 900, range: 1...604_800),
            allowedOrigins: origins,
            cursorKey: secret.map { Array($0.utf8) } ?? randomBytes(32),
            aws: try AWSConfig.fromEnvironment(env))
    }

    /// `scheme://host[:port]` and nothing more, as browsers send in `Origin`.
    static func isOrigin(_ text: String) -> Bool {
        guard let separator = text.rangeOfFirst("://"),
              ["http", "https"].contains(text[..<separator.lowerBound].lowercased()) else { return false }
        let rest = text[separator.upperBound...]
        return !rest.isEmpty && rest.allSatisfy { $0.isLetter || $0.isNumber || "-.:[]".contains($0) }
    }
}

/// Bytes from the kernel's random source, for keys.
func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    var filled = 0
    while fd >= 0, filled < count {
        let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, count - filled) }
        if got > 0 { filled += got } else if got == 0 || errno != EINTR { break }
    }
    if fd >= 0 { close(fd) }
    // Without randomness the cursor key would be guessable: better no process than a forgeable cursor.
    guard filled == count else { fatalError("cannot read \(count) random bytes from /dev/urandom") }
    return bytes
}
