import Glibc
import TesseraAWS
import TesseraEvents
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
    /// Who may read and upload without a token.
    public var gallery: Gallery
    /// The page's sign-in: the Cognito app client and the endpoint its browser calls (nil: no sign-in form).
    public var signIn: SignIn?
    public var aws: AWSConfig

    /// A Cognito user pool's app client, as the page signs in against it (`InitiateAuth`, no secret).
    public struct SignIn: Sendable, Equatable {
        public var clientId: String
        public var endpoint: String
    }

    public static let defaultMaxUploadBytes = 20 * 1024 * 1024

    /// Reads `ORIGINALS_BUCKET`, `RENDITIONS_BUCKET`, `PICTURES_TABLE`, `MAX_UPLOAD_BYTES` (20 MiB),
    /// `UPLOAD_URL_SECONDS` (300), `DOWNLOAD_URL_SECONDS` (900), `ALLOWED_ORIGINS` (none),
    /// `CURSOR_SECRET` (random per process when unset), `GALLERY` (`private`), `AUTH_CLIENT_ID` and
    /// `AUTH_ENDPOINT` (Cognito's endpoint as the AWS variables give it when unset) and the AWS variables.
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
        let galleryName = env["GALLERY"] ?? Gallery.private.rawValue
        guard let gallery = Gallery(rawValue: galleryName) else {
            throw ConfigurationError(variable: "GALLERY", problem: "must be one of "
                + Gallery.allCases.map(\.rawValue).joined(separator: ", ") + ", got \"\(galleryName.prefix(40))\"")
        }
        let aws = try AWSConfig.fromEnvironment(env)
        var signIn: SignIn?
        if let client = env["AUTH_CLIENT_ID"], !client.isEmpty {
            guard client.utf8.count <= 128, client.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_+=,.@".contains($0)) }) else {
                throw ConfigurationError(variable: "AUTH_CLIENT_ID", problem: "must be a Cognito app client id (letters and digits)")
            }
            // Cognito's endpoint as the SDKs find it (AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER or AWS_ENDPOINT_URL
            // locally), unless AUTH_ENDPOINT names the one browsers reach.
            let cognito = aws.endpoint(for: .cognitoIdentityProvider)
            var endpoint = env["AUTH_ENDPOINT"] ?? "\(cognito.scheme)://\(cognito.host)\(cognito.basePath)"
            if endpoint.hasSuffix("/") { endpoint.removeLast() }
            guard isOrigin(endpoint) else {
                throw ConfigurationError(variable: "AUTH_ENDPOINT", problem: "must be an origin like https://cognito-idp.us-east-1.amazonaws.com/, got \"\(endpoint.prefix(60))\"")
            }
            signIn = SignIn(clientId: client, endpoint: endpoint + "/")
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
            gallery: gallery, signIn: signIn, aws: aws)
    }

    /// `scheme://host[:port]` and nothing more, as browsers send in `Origin`.
    static func isOrigin(_ text: String) -> Bool {
        guard let separator = text.rangeOfFirst("://"),
              ["http", "https"].contains(text[..<separator.lowerBound].lowercased()) else { return false }
        let rest = text[separator.upperBound...]
        return !rest.isEmpty && rest.allSatisfy { $0.isLetter || $0.isNumber || "-.:[]".contains($0) }
    }
}
