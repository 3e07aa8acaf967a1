import TesseraHTTP
import TesseraSupport

/// AWS Signature Version 4: signs requests in the Authorization header or as presigned URLs.
public struct SigV4Signer: Sendable {
    /// How the canonical path is made from the wire path.
    public enum PathRule: Sendable {
        /// S3: the wire path as it is, encoded once, never normalized.
        case s3
        /// Every other service: the wire path encoded again; `normalize` removes `.`/`..` and empty segments.
        case standard(normalize: Bool)
    }

    /// What the payload hash line of the canonical request carries.
    public enum Payload: Sendable {
        /// A precomputed lower-case hex SHA-256 of the body.
        case hash(String)
        /// `UNSIGNED-PAYLOAD` (S3 presigned URLs).
        case unsigned

        /// The hash of these bytes.
        public static func of<Bytes: Sequence>(_ body: Bytes) -> Payload where Bytes.Element == UInt8 {
            .hash(hexString(SHA256.hash(body)))
        }

        public static let empty = Payload.hash("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        var value: String {
            switch self {
            case let .hash(hex): hex
            case .unsigned: "UNSIGNED-PAYLOAD"
            }
        }
    }

    /// The intermediate texts of one signing, for tests and debugging.
    public struct Artifacts: Sendable, Equatable {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
    }

    public var credentials: Credentials
    public var region: String
    public var service: String
    public var pathRule: PathRule
    /// Whether the session token is part of the signature (true for every AWS service today).
    public var signSessionToken: Bool

    /// Header names never signed: proxies and tools may change them (the AWS SDKs skip the same).
    static let unsignedHeaders: Set<String> = [
        "authorization", "user-agent", "x-amzn-trace-id", "expect", "connection", "keep-alive",
        "transfer-encoding", "te", "upgrade", "proxy-authorization",
    ]

    public init(credentials: Credentials, region: String, service: String, pathRule: PathRule? = nil,
                signSessionToken: Bool = true) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathRule = pathRule ?? (service == "s3" ? .s3 : .standard(normalize: true))
        self.signSessionToken = signSessionToken
    }

    /// Adds `X-Amz-Date`, the session token, optionally `x-amz-content-sha256`, and `Authorization`.
    @discardableResult
    public func signHeaders(_ request: inout SignableRequest, payload: Payload, date: AmzDate = .now(),
                            addContentSHA256Header: Bool = false) -> Artifacts {
        request.headers.set("X-Amz-Date", date.timestamp)
        if request.headers["host"] == nil { request.headers.set("Host", request.host) }
        if addContentSHA256Header { request.headers.set("x-amz-content-sha256", payload.value) }
        let token = credentials.sessionToken
        if let token, signSessionToken { request.headers.set("X-Amz-Security-Token", token) }

        let (canonicalHeaders, signedHeaders) = canonicalize(request.headers)
        let artifacts = sign(method: request.method, path: request.path, query: request.canonicalQuery,
                             canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
                             payload: payload, date: date)
        if let token, !signSessionToken { request.headers.set("X-Amz-Security-Token", token) }
        request.headers.set("Authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(scope(date)), "
            + "SignedHeaders=\(signedHeaders), Signature=\(artifacts.signature)")
        return artifacts
    }

    /// Adds the `X-Amz-*` query parameters of a presigned URL valid for `expires` seconds (1 s to 7 days).
    @discardableResult
    public func presign(_ request: inout SignableRequest, expires: Int, payload: Payload = .unsigned,
                        date: AmzDate = .now()) throws -> Artifacts {
        guard (1...604_800).contains(expires) else { throw SigV4Error.invalidExpiry(expires) }
        if request.headers["host"] == nil { request.headers.set("Host", request.host) }
        let (canonicalHeaders, signedHeaders) = canonicalize(request.headers)
        request.query.append(contentsOf: [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope(date))"),
            ("X-Amz-Date", date.timestamp),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", signedHeaders),
        ])
        let token = credentials.sessionToken
        if let token, signSessionToken { request.query.append(("X-Amz-Security-Token", token)) }
        let artifacts = sign(method: request.method, path: request.path, query: request.canonicalQuery,
                             canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
                             payload: payload, date: date)
        if let token, !signSessionToken { request.query.append(("X-Amz-Security-Token", token)) }
        request.query.append(("X-Amz-Signature", artifacts.signature))
        return artifacts
    }

    func scope(_ date: AmzDate) -> String { "\(date.day)/\(region)/\(service)/aws4_request" }

    private func sign(method: String, path: String, query: String, canonicalHeaders: String,
                      signedHeaders: String, payload: Payload, date: AmzDate) -> Artifacts {
        let canonicalRequest = [method, canonicalPath(path), query, canonicalHeaders, signedHeaders, payload.value]
            .joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", date.timestamp, scope(date),
                            hexString(SHA256.hash(canonicalRequest.utf8))].joined(separator: "\n")
        return Artifacts(canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                         signature: signature(of: stringToSign, day: date.day))
    }

    /// The hex HMAC of `text` under the day's signing key: what every SigV4 signature is, and, with a
    /// base64 policy as the text, the signature of an S3 POST form.
    public func signature(of text: String, day: String) -> String {
        var key = hmacSHA256(key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: day.utf8)
        for part in [region, service, "aws4_request"] { key = hmacSHA256(key: key, message: part.utf8) }
        return hexString(hmacSHA256(key: key, message: text.utf8))
    }

    /// `<access key>/<day>/<region>/<service>/aws4_request`.
    public func credentialScope(_ date: AmzDate) -> String { "\(credentials.accessKeyId)/\(scope(date))" }

    func canonicalPath(_ wirePath: String) -> String {
        switch pathRule {
        case .s3:
            return wirePath
        case let .standard(normalize):
            return PercentEncoding.encode(normalize ? Self.normalize(wirePath) : wirePath, keepSlash: true)
        }
    }

    /// RFC 3986 dot-segment removal plus collapsing of empty segments; a trailing slash is kept.
    static func normalize(_ path: String) -> String {
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": _ = segments.popLast()
            default: segments.append(segment)
            }
        }
        let trailing = path.hasSuffix("/") || path.hasSuffix("/.") || path.hasSuffix("/..")
        let joined = "/" + segments.joined(separator: "/")
        return trailing && !segments.isEmpty ? joined + "/" : joined
    }

    /// Canonical header block and the signed header list: lower-case names, trimmed values with runs of
    /// white space folded, repeated fields joined by commas in order.
    private func canonicalize(_ headers: HTTPHeaders) -> (String, String) {
        var merged: [String: [String]] = [:]
        for field in headers {
            let name = field.name.asciiLowercased
            guard !Self.unsignedHeaders.contains(name) else { continue }
            merged[name, default: []].append(Self.foldWhitespace(field.value))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    static func foldWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            .joined(separator: " ")
    }
}

/// Why a request could not be signed.
public enum SigV4Error: Error, Equatable, CustomStringConvertible {
    case invalidExpiry(Int)

    public var description: String {
        switch self {
        case let .invalidExpiry(seconds):
            "presigned URL expiry must be 1 to 604800 seconds (7 days), got \(seconds)"
        }
    }
}
